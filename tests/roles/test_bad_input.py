"""Bad input stops a role in its first tasks (argument_specs, then validate.yml) with a message that
says what to do, before anything on the host changes. Each case runs the whole role in check mode
against the controller inside a block; the rescue records which task failed and why."""
import json
import subprocess
import sys

import pytest
import yaml

from repo import ROOT

GOOD_APP = {"app_name": "shop", "app_artifact": str(ROOT / "roles/app/README.md.tar.gz")}
SECRET = "prtestsecret-short"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample test@example"
# (id, role, vars, expected words in the message)
CASES = [
    ("app-missing-name", "app", {"app_artifact": "x.tar.gz"}, "app_name"),
    ("app-bad-runtime", "app", {**GOOD_APP, "app_runtime": "ruby"}, "app_runtime"),
    ("app-bad-name", "app", {**GOOD_APP, "app_name": "Shop_1"}, "app_name must be 2 to 31 lower-case letters"),
    ("app-no-artifact", "app", {"app_name": "shop"}, "set app_artifact to a .tar.gz on the controller"),
    ("app-missing-artifact", "app", {"app_name": "shop", "app_artifact": "/nonexistent/shop.tar.gz"},
     "is not a file on the controller"),
    ("app-ports", "app", {**GOOD_APP, "app_artifact": "{{ playbook_dir }}/a.tar.gz", "app_port": 65534,
                          "app_instances": 3}, "app_port must be 1024 or more and leave room for 3 instances"),
    ("app-short-session-secret", "app", {**GOOD_APP, "app_artifact": "{{ playbook_dir }}/a.tar.gz",
                                         "app_secret_env": {"SESSION_SECRET": SECRET}},
     "SESSION_SECRET must be at least 32 characters (got 18)"),
    ("app-secret-in-plain-env", "app", {**GOOD_APP, "app_artifact": "{{ playbook_dir }}/a.tar.gz",
                                        "app_env": {"API_TOKEN": "x"}}, "move API_TOKEN from app_env to app_secret_env"),
    ("nginx-missing-domains", "nginx", {}, "missing required arguments: nginx_domains"),
    ("nginx-bad-domain", "nginx", {"nginx_domains": ["not a domain"]}, "nginx_domains must list the site's host names"),
    ("nginx-rate-too-slow", "nginx", {"nginx_domains": ["shop.example.com"], "nginx_upstream_servers": ["10.0.0.1:3000"],
                                      "nginx_rate_limit_auth": "0r/m"}, "nginx's slowest rate is 1r/m"),
    ("nginx-body-size", "nginx", {"nginx_domains": ["shop.example.com"], "nginx_upstream_servers": ["10.0.0.1:3000"],
                                  "nginx_client_max_body_size": "50 MB"}, "must be a size like 50m"),
    ("nginx-no-upstream", "nginx", {"nginx_domains": ["shop.example.com"], "nginx_upstream_servers": []},
     "nginx_upstream_servers must list host:port"),
    ("certbot-no-email", "certbot", {"certbot_domains": ["shop.example.com"]}, "a contact certbot_email"),
    ("redis-short-password", "redis", {"redis_requirepass": SECRET, "redis_config_command": "CONFIG_abcdef0123456789"},
     "redis_requirepass must be at least 32 characters"),
    ("redis-acl-user-short-password", "redis",
     {"redis_requirepass": "x" * 40, "redis_config_command": "CONFIG_abcdef0123456789",
      "redis_acl_users": [{"name": "app", "password": SECRET, "keys": ["~app:*"], "commands": "+@all"}]},
     "each redis_acl_users entry needs name (not 'default'), password (32+ characters)"),
    ("mysql-user-short-password", "mysql", {"mysql_users": [{"name": "shop", "password": SECRET, "database": "shop"}]},
     "mysql_users entry 'shop' needs a name"),
    ("backup-nothing-to-back-up", "backup", {}, "backup has nothing to back up"),
    ("backup-short-restic-password", "backup",
     {"backup_mysql_databases": ["shop"], "backup_s3_bucket": "prodready-backups", "backup_s3_access_key": "AKIA0",
      "backup_s3_secret_key": SECRET, "backup_restic_password": SECRET},
     "backup_restic_password to 24 or more characters (got 18;"),
    ("security-no-keys", "security", {}, "security_deploy_keys must list the public keys of deploy"),
    ("security-not-a-key", "security", {"security_deploy_keys": ["hunter2"]},
     "got 1 entries, not all of them keys"),
    # A key with authorized_keys options passes the key check: this fails at the next one.
    ("security-root-would-be-locked-out", "security",
     {"security_deploy_keys": ['no-agent-forwarding,no-X11-forwarding,from="10.0.0.5" ' + KEY], "ansible_user": "root", "ansible_connection": "ssh"},
     "This run logs in to localhost as 'root', which the new sshd config does not let in"),
    ("security-host-name-as-source", "security",
     {"security_deploy_keys": [KEY], "security_firewall_private_sources": ["app1.internal"]},
     "firewall sources as addresses or CIDRs, not host names (got ['app1.internal'])"),
    ("postgresql-short-password", "postgresql",
     {"postgresql_databases": [{"name": "shop"}], "postgresql_users": [{"name": "shop", "password": SECRET,
                                                                        "database": "shop"}]},
     "postgresql_users entry 'shop' needs a name"),
    ("postgresql-user-without-database", "postgresql",
     {"postgresql_users": [{"name": "shop", "password": "x" * 32, "database": "shop"}]},
     "a database listed in postgresql_databases"),
    ("postgresql-everyone-as-app-host", "postgresql", {"postgresql_app_hosts": ["0.0.0.0/0"]},
     "postgresql_app_hosts must list addresses or CIDRs, not host names or everything"),
    ("postgresql-tiny-memory", "postgresql", {"postgresql_memory_mb": 64}, "postgresql_memory_mb auto or MiB >= 256"),
    ("monitoring-no-receiver", "monitoring", {}, "alerts need a receiver"),
    ("monitoring-bad-duration", "monitoring", {"monitoring_webhook_urls": ["http://127.0.0.1:9199/"],
                                               "monitoring_alert_for": "5 minutes"},
     "durations are Prometheus durations like 30s"),
    ("monitoring-unknown-host", "monitoring", {"monitoring_webhook_urls": ["http://127.0.0.1:9199/"],
                                               "monitoring_scrape_hosts": ["db9"]},
     "monitoring_scrape_hosts lists hosts the inventory does not have: db9"),
    ("monitoring-agent-unknown-exporter", "monitoring_agent", {"monitoring_agent_exporters": ["node", "apache"]},
     "monitoring_agent_exporters must be one or more of"),
    ("monitoring-agent-every-interface", "monitoring_agent", {"monitoring_agent_listen_address": "0.0.0.0"},
     "monitoring_agent_listen_address must be one IP address"),
    ("monitoring-agent-short-mysql-password", "monitoring_agent",
     {"monitoring_agent_exporters": ["node", "mysqld"], "monitoring_agent_mysql_user": "exporter",
      "monitoring_agent_mysql_password": SECRET}, "the mysqld exporter needs a monitoring login"),
    ("nginx-csp-quote", "nginx", {"nginx_domains": ["shop.example.com"], "nginx_upstream_servers": ["10.0.0.1:3000"],
                                  "nginx_csp": "default-src 'self'\"; return 200"},
     "nginx_csp is one header value: no double quote"),
    ("nginx-public-stub-status", "nginx", {"nginx_domains": ["shop.example.com"], "nginx_upstream_servers": ["10.0.0.1:3000"],
                                           "nginx_stub_status_listen": "0.0.0.0:8081"},
     "nginx_stub_status_listen must be a loopback address"),
    ("mysql-monitoring-short-password", "mysql", {"mysql_monitoring_user": "exporter", "mysql_monitoring_password": SECRET},
     "mysql_monitoring_password must be 24 or more characters"),
    ("app-system-name", "app", {**GOOD_APP, "app_name": "mysql"}, "app_name 'mysql' is a system user or a folder"),
    ("app-release-id-path", "app", {**GOOD_APP, "app_artifact": "{{ playbook_dir }}/a.tar.gz",
                                    "app_release_id": "../shared"}, "app_release_id must be 1 to 64 letters"),
    ("app-shared-dir-path", "app", {**GOOD_APP, "app_artifact": "{{ playbook_dir }}/a.tar.gz",
                                    "app_shared_dirs": ["uploads", "../../etc"]},
     "app_shared_dirs: '../../etc' is not a folder name"),
    ("app-negative-instances", "app", {**GOOD_APP, "app_artifact": "{{ playbook_dir }}/a.tar.gz", "app_instances": -1},
     "app_instances must be 0 (one per CPU) or a positive number of instances (got -1)"),
    # As -e passes it: a string.
    ("mysql-negative-connections", "mysql", {"mysql_max_connections": "-5"},
     "mysql_max_connections 10 or more (got -5)"),
    ("backup-rest-short-password", "backup", {"backup_mysql_databases": ["shop"], "backup_rest_url": "http://10.0.0.6:8000",
                                              "backup_rest_password": "short", "backup_restic_password": SECRET * 2},
     "backup_rest_password to 20 or more URL-safe characters (got 5"),
    ("backup-server-public-address", "backup_server", {"backup_server_address": "0.0.0.0"},
     "backup_server_address must be the host's private address, not every interface"),
    ("backup-bad-retention", "backup", {"backup_mysql_databases": ["shop"], "backup_retention_days": 0},
     "backup_retention_days must be 1 or more (got 0)"),
]


def _debian_major():
    try:
        return int(open("/etc/debian_version", encoding="utf-8").read().split(".")[0])
    except (OSError, ValueError):
        return 0


# On a Debian 12 controller (the test machine), the release check itself is a case.
if 0 < _debian_major() < 13:
    CASES.append(("backup-server-on-debian-12", "backup_server", {"backup_server_address": "10.0.0.6"},
                  f"backup_server needs Debian 13 or later (restic-rest-server is not packaged for Debian {_debian_major()})"))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run every case in one playbook (one Ansible start-up); returns id -> (failed task, message)."""
    tmp = tmp_path_factory.mktemp("bad_input")
    (tmp / "a.tar.gz").write_bytes(b"")
    tasks = []
    for case_id, role, role_vars, _ in CASES:
        tasks.append({
            "name": f"Case {case_id}",
            "block": [{"name": f"Apply {role}", "ansible.builtin.include_role": {"name": f"prodready.vps.{role}"},
                       "vars": role_vars},
                      {"name": "Record a pass", "ansible.builtin.set_fact": {
                          "outcomes": f"{{{{ outcomes | combine({{'{case_id}': ['', 'no error']}}) }}}}"}}],
            "rescue": [{"name": "Record the failure", "ansible.builtin.set_fact": {
                "outcomes": f"{{{{ outcomes | combine({{'{case_id}': [ansible_failed_task.name, "
                            f"ansible_failed_result.msg | default('') ~ ' ' ~ (ansible_failed_result.results"
                            f" | default([]) | selectattr('failed', 'defined') | selectattr('failed')"
                            f" | map(attribute='msg') | join(' '))]}}) }}}}"}}],
        })
    tasks.append({"name": "Write the outcomes", "ansible.builtin.copy": {
        "content": "{{ outcomes | to_json }}", "dest": str(tmp / "outcomes.json"), "mode": "0600"},
        # The test's own output file: not counted as a change the roles made.
        "check_mode": False, "changed_when": False})
    play = [{"name": "Bad input", "hosts": "localhost", "connection": "local", "gather_facts": True,
             "vars": {"outcomes": {}}, "tasks": tasks}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    run = subprocess.run([str(ROOT / ".venv/bin/ansible-playbook"), "-i", "localhost,", "--check",
                          "-e", f"ansible_python_interpreter={sys.executable}", str(tmp / "play.yml")],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert SECRET not in run.stdout + run.stderr, "a secret from the input was printed"
    recap = run.stdout.rsplit("PLAY RECAP", 1)[-1]
    assert "changed=0" in recap, "a case changed something before failing"
    return json.loads((tmp / "outcomes.json").read_text()), " ".join(run.stdout.split())


@pytest.mark.parametrize("case_id, role, role_vars, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_first_with_a_clear_message(outcomes, case_id, role, role_vars, expected):
    results, shown = outcomes
    task, message = results[case_id]
    assert task, f"{case_id}: the role accepted the input"
    assert "Validate" in task or "argument" in task.lower(), f"{case_id}: failed late, at {task!r}: {message}"
    assert expected in " ".join(message.split()), message
    # What the user sees: no_log on the failing task would print "censored" instead.
    assert expected in shown, f"{case_id}: the message is not in the playbook's output (hidden by no_log?)"
