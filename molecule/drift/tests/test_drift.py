"""The drift check end to end, on a host converged with every role (site.yml).

The tests run in file order on the one host: clean report, tampering named exactly, converge,
an unreachable host, then the check the drift_check role schedules on the host, clean again."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest


ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
SCENARIO = os.path.join(ROOT, "molecule", "drift")
INVENTORY = os.path.join(SCENARIO, "inventory")
SCENARIO_LOGS = os.path.join(ROOT, ".cache", "logs")
HOST = "drift13"
MARKER = "prtestsecret"
REDIS_AUTH = "REDISCLI_AUTH=prtestsecret-drift-redis-8f1b2c3d4e5f60718293"
LAST = {}
# The tests' own runs reach the host over SSH as root with the key prepare.yml made (the
# scenario's converge and testinfra use docker exec): an inventory of its own with those host
# variables, given after the scenario's (not -e, which would send delegate_to: localhost over
# SSH to the host too).
KEY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "drift_ed25519")
SSH_INVENTORY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "drift-over-ssh.yml")


def over_ssh():
    """The inventory file that sends drift13 over SSH (made once)."""
    if not os.path.exists(SSH_INVENTORY):
        ip = subprocess.check_output(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}"
                                      "{{end}}", HOST], text=True).strip()
        # Host keys unchecked by Ansible's own setting: Mitogen's SSH (the drift check's strategy)
        # puts StrictHostKeyChecking from it ahead of ansible_ssh_common_args.
        host_vars = {"ansible_connection": "ssh", "ansible_host": ip, "ansible_user": "root",
                     "ansible_ssh_private_key_file": KEY, "ansible_host_key_checking": False,
                     "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
        with open(SSH_INVENTORY, "w", encoding="utf-8") as f:
            json.dump({"all": {"hosts": {HOST: host_vars}}}, f)     # YAML reads JSON
    return SSH_INVENTORY


def drift_check(*args, inventories=(INVENTORY,), ssh=True):
    """scripts/drift-check as a user runs it; returns (exit code, report, markdown, output)."""
    inventories = tuple(inventories) + ((over_ssh(),) if ssh else ())
    reports = tempfile.mkdtemp(prefix="drift-reports-")
    LAST["reports"] = reports
    cmd = [os.path.join(ROOT, "scripts", "drift-check"), "-q", "--reports", reports]
    for inv in inventories:
        cmd += ["-i", inv]
    start = time.monotonic()
    run = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=1200, check=False)
    # The figures for the notes: each check's wall time, with the strategy it ran with.
    os.makedirs(SCENARIO_LOGS, exist_ok=True)
    with open(os.path.join(SCENARIO_LOGS, "drift-checks.txt"), "a", encoding="utf-8") as f:
        f.write(f"{' '.join(args) or '(plain)'}: {time.monotonic() - start:.0f} s, "
                f"{'mitogen' if '(mitogen)' in run.stdout else 'linear'}, exit {run.returncode}\n")
    latest = os.path.join(reports, "latest")
    with open(os.path.join(latest, "drift.json")) as f:
        report = json.load(f)
    with open(os.path.join(latest, "drift.md")) as f:
        markdown = f.read()
    return run.returncode, report, markdown, run.stdout + run.stderr


def describe(entry):
    return " | ".join(str(entry.get(k, "")) for k in ("kind", "role", "task", "action", "item", "what", "diff"))


def finding(kind, what):
    """A report entry of that kind whose finding names `what`."""
    return lambda e: e.get("kind") == kind and what in str(e.get("what", ""))


# What each tampering must show up as in the report: (name, predicate over a change entry).
TAMPERING = {
    "redis live CONFIG SET": lambda e: (e["kind"] == "live setting" and e["action"].endswith("redis_config")
                                        and "maxmemory-policy" in describe(e)),
    "redis.conf edited": lambda e: (e["kind"] == "file" and e["action"].endswith("template")
                                    and "/etc/redis/redis.conf" in describe(e)),
    "mysql index dropped": lambda e: (e["kind"] == "removed" and e["action"].endswith("mysql_index")
                                      and "idx_orders_user_created" in describe(e)),
    "nginx site edited": lambda e: (e["kind"] == "file" and e["action"].endswith("template")
                                    and "sites-available/shop.localhost.conf" in describe(e)),
    "fail2ban stopped": lambda e: (e["kind"] == "removed" and "fail2ban" in describe(e)
                                   and e["action"].endswith(("service", "systemd_service"))),
    # The render is no_log (secrets inside): named, never shown; the mode and owner are shown apart.
    "app env file 0644 (censored render)": lambda e: (e["role"] == "app" and "environment file" in e["task"]
                                                      and e.get("censored")),
    "app env file 0644 (mode)": lambda e: (e["kind"] == "file" and e["action"].endswith(".file")
                                           and '"mode": "0644"' in e.get("diff", "")
                                           and '"mode": "0600"' in e.get("diff", "")),
    "less removed": lambda e: (e["kind"] == "removed" and e["action"].endswith(("apt", "package"))
                               and re.search(r"\bless\b", describe(e))),
    # Issue #24: the live state beside the files.
    "mariadb live SET GLOBAL": lambda e: (e["kind"] == "live setting" and e["action"].endswith("mysql_settings")
                                          and "max_connections" in e.get("diff", "")),
    "sshd password logins (a drop-in read first)": finding("effective config", "sshd passwordauthentication"),
    "firewall flushed": finding("removed", "nftables table inet prodready"),
    "database account from anywhere": finding("added", "account intruder@%"),
    "redis ACL user": finding("added", "ACL user intruder"),
    "nginx site nobody declared": lambda e: (e["kind"] == "added" and "sites-enabled/intruder" in describe(e)),
    "nginx tree rejected": finding("effective config", "nginx -t"),
    "app unit drop-in": finding("added", "shop@.service.d/override.conf"),
    # prodready.vps.files (one call for many paths): each path its own entry, its own diff.
    "login banner edited": lambda e: (e["kind"] == "file" and e["action"].endswith(".files")
                                      and e.get("item") == "/etc/issue.net" and "-Welcome, friend" in e.get("diff", "")),
    "sshd_config readable by all": lambda e: (e["kind"] == "file" and e["action"].endswith(".files")
                                              and e.get("item") == "/etc/ssh/sshd_config"
                                              and '"mode": "0644"' in e.get("diff", "")
                                              and '"mode": "0600"' in e.get("diff", "")),
    # A file that is gone has no "before" header: the task names it (common's schedule entry
    # point, which the backup role includes).
    "backup schedule removed": lambda e: (e["kind"] == "removed" and e["action"].endswith("template")
                                          and "/etc/cron.d/prodready-backup" in e["task"]),
}


def consequence(entry, changes):
    """What a tampering causes in its own role is explained by it: a restart or reload (a
    handler, or the app's restart of instances whose environment changed), a would-run command
    that repairs it (the firewall's load), sshd -T's other keywords read from the same drop-in."""
    tampered_roles = {e["role"] for e in changes if any(m(e) for m in TAMPERING.values())}
    if entry["role"] not in tampered_roles:
        return False
    return (entry["kind"] == "consequence"
            or (entry["action"].endswith("systemd_service") and ("Restart" in entry["task"] or "Reload" in entry["task"]))
            or (entry["action"].endswith("command") and entry["kind"] == "effective config"))


@pytest.fixture(scope="module")
def tampered(host):
    """Make every change at once, behind Ansible's back, as an operator or an intruder would."""
    redis = f"{REDIS_AUTH} redis-cli"
    cmds = [
        f"{redis} prtestsecret_DCFG_5b2e SET maxmemory-policy noeviction",
        "sed -i 's/^tcp-backlog .*/tcp-backlog 4096/' /etc/redis/redis.conf",
        "mariadb -e 'DROP INDEX idx_orders_user_created ON app.orders'",
        "sed -i 's/client_max_body_size [0-9a-z]*;/client_max_body_size 900m;/' "
        "/etc/nginx/sites-available/shop.localhost.conf",
        "systemctl stop fail2ban",
        "chmod 0644 /etc/shop/shop.env",
        # dpkg removes that one package or refuses (rsync, say, would take mariadb-server with it).
        "dpkg --remove less",
        # The live state: none of these touches a file the roles write.
        "mariadb -e 'SET GLOBAL max_connections = 5'",
        "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/00-allow-passwords.conf",
        "nft flush ruleset",
        "mariadb -e \"CREATE USER 'intruder'@'%' IDENTIFIED BY 'x'; GRANT ALL ON *.* TO 'intruder'@'%'\"",
        f"{redis} ACL SETUSER intruder on '>x' '~*' '+@all'",
        "printf 'server { listen 8099; not_a_directive on; }\\n' > /etc/nginx/sites-available/intruder"
        " && ln -s /etc/nginx/sites-available/intruder /etc/nginx/sites-enabled/intruder",
        "mkdir -p /etc/systemd/system/shop@.service.d && printf '[Service]\\nEnvironment=INTRUDER=1\\n'"
        " > /etc/systemd/system/shop@.service.d/override.conf && systemctl daemon-reload",
        "rm /etc/cron.d/prodready-backup",
        "printf 'Welcome, friend\\n' > /etc/issue.net",
        "chmod 0644 /etc/ssh/sshd_config",
    ]
    for cmd in cmds:
        result = host.run(cmd)
        assert result.rc == 0, (cmd.replace(REDIS_AUTH, "REDISCLI_AUTH=…"), result.stderr)
    # The tampering is real before the check looks at it.
    assert "tcp-backlog 4096" in host.file("/etc/redis/redis.conf").content_string
    assert "900m" in host.file("/etc/nginx/sites-available/shop.localhost.conf").content_string
    assert not host.service("fail2ban").is_running
    assert host.file("/etc/shop/shop.env").mode == 0o644
    assert not host.package("less").is_installed
    assert host.package("mariadb-server").is_installed
    assert "passwordauthentication yes" in host.check_output("sshd -T")
    assert "prodready" not in host.check_output("nft list ruleset")
    assert host.run("nginx -t").rc != 0
    return cmds


CONVERGED = {}


def test_converged_host_has_no_drift(host):
    code, report, markdown, out = drift_check()
    CONVERGED["report"] = report
    assert code == 0, out[-3000:] + markdown[:6000]
    # Over SSH with Mitogen's strategy (requirements.txt installs it), as a control host with it would.
    assert "drift-check: ok (mitogen)" in out, out[-1000:]
    assert report["check_mode"] is True
    assert report["summary"] == {"ok": [HOST], "drift": [], "failed": [], "unreachable": []}
    assert report["hosts"][HOST]["changes"] == []


def test_check_mode_skips_only_the_listed_tasks_and_none_for_lack_of_check_mode(host):
    """On a converged host every task runs under --check; the ones skipped by their condition
    are listed, each with the reason, in check_mode_skips.txt. A new skip fails here."""
    listed, task = {}, None
    with open(os.path.join(SCENARIO, "check_mode_skips.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith(" "):
                listed[task] = line.strip()
            else:
                task = line.rstrip("\n")
                listed[task] = ""
    skipped = CONVERGED["report"]["hosts"][HOST]["skipped"]
    blind = [e for e in CONVERGED["report"]["hosts"][HOST]["errors"] if e.get("kind") == "blind spot"]
    assert not blind, blind
    reasons = {s["task"]: s["reason"] for s in skipped}
    unlisted = [f"+ {t}  (when: {r})" for t, r in sorted(reasons.items()) if t not in listed]
    gone = [f"- {t}" for t in sorted(listed) if t not in reasons]
    assert not unlisted and not gone, "skipped in check mode, not as listed:\n" + "\n".join(unlisted + gone)
    assert all(str(reason).strip() for reason in listed.values()), "each listed skip needs its reason"


def test_each_tampering_is_named_on_its_host_and_nothing_else(tampered):
    """As an ansible-runner job (issue #28): the job's artifacts hold the report and its events,
    and the exit code is the program's 2 for drift."""
    code, report, markdown, out = drift_check("--runner")
    assert code == 2, out[-3000:]
    artifacts = os.path.join(LAST["reports"], "latest", "runner", "artifacts", "drift")
    listing = sorted(os.listdir(artifacts))
    assert {"drift.json", "drift.md", "rc", "status", "stdout", "job_events"} <= set(listing), listing
    with open(os.path.join(artifacts, "drift.json")) as f:
        assert json.load(f)["summary"]["drift"] == [HOST]
    with open(os.path.join(artifacts, "status")) as f:
        assert f.read().strip() == "successful"      # Ansible's own view: a check run that passed
    assert any(e.endswith(".json") for e in os.listdir(os.path.join(artifacts, "job_events")))
    os.makedirs(SCENARIO_LOGS, exist_ok=True)
    with open(os.path.join(SCENARIO_LOGS, "drift-runner-artifacts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(listing) + "\n")
    assert report["summary"]["drift"] == [HOST]
    changes = report["hosts"][HOST]["changes"]
    for name, matches in TAMPERING.items():
        assert any(matches(e) for e in changes), f"{name} is not in the report:\n{markdown[:8000]}"
    unexplained = [describe(e)[:300] for e in changes
                   if not any(m(e) for m in TAMPERING.values()) and not consequence(e, changes)]
    assert not unexplained, "changes no tampering explains:\n" + "\n".join(unexplained)
    # The Markdown summary names the host and the live Redis finding; no secret in either file.
    assert f"## {HOST}: drift" in markdown and "maxmemory-policy" in markdown
    assert MARKER not in json.dumps(report) and MARKER not in markdown


def consumer_project(tmp):
    """A project that is not this repository (issue #28): its own ansible.cfg, inventory/ (the
    scenario's, copied) and a site.yml that imports prodready.vps.site, with the collection
    built and installed from its tarball into ./collections."""
    project = tmp / "consumer"
    shutil.copytree(INVENTORY, project / "inventory")
    (project / "inventory" / "host_vars").mkdir(exist_ok=True)
    with open(over_ssh(), encoding="utf-8") as f:
        host_vars = json.load(f)["all"]["hosts"][HOST]
    (project / "inventory" / "host_vars" / f"{HOST}.yml").write_text(json.dumps(host_vars) + "\n")
    # Plain Ansible (no strategy set), as a team without Mitogen runs it: the one whole-site run of
    # the suite with Ansible's own strategy (every converge step uses Mitogen's), over SSH. Facts
    # under ansible_facts only, as the README advises.
    (project / "ansible.cfg").write_text("[defaults]\ninventory = inventory\ncollections_path = ./collections\n"
                                         "force_handlers = True\ngathering = smart\nfact_caching = memory\n"
                                         "inject_facts_as_vars = False\ninterpreter_python = auto_silent\n"
                                         "[ssh_connection]\npipelining = true\n")
    (project / "site.yml").write_text("---\n- name: The whole site from the installed collection\n"
                                      "  ansible.builtin.import_playbook: prodready.vps.site\n")
    built = subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp / "dist"), ROOT],
                           capture_output=True, text=True, check=False, cwd=tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next((tmp / "dist").glob("prodready-vps-*.tar.gz"))
    # The community collections it depends on come with the ansible package, so no Galaxy.
    installed = subprocess.run(["ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", "collections",
                                str(tarball)], capture_output=True, text=True, check=False, cwd=project)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return project


def test_converge_from_a_consumer_project_repairs(host, tmp_path):
    """site.yml as a team that installed the collection runs it, from a project of its own, with
    plain Ansible: nothing of this repository's layout (.collections, inventories/, its ansible.cfg)
    is used."""
    project = consumer_project(tmp_path)
    # No setting of this repository's or Molecule's: only the project's ansible.cfg.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") or k == "ANSIBLE_NOCOLOR"}
    start = time.monotonic()
    run = subprocess.run(["ansible-playbook", "site.yml"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=1800, check=False)
    seconds = time.monotonic() - start
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    listed = subprocess.run(["ansible-galaxy", "collection", "list", "prodready.vps"], cwd=project, env=env,
                            capture_output=True, text=True, check=False).stdout
    assert f"# {project / 'collections' / 'ansible_collections'}" in listed and "prodready.vps" in listed, listed
    assert ".collections" not in listed, listed
    os.makedirs(SCENARIO_LOGS, exist_ok=True)
    with open(os.path.join(SCENARIO_LOGS, "drift-consumer.txt"), "w", encoding="utf-8") as f:
        f.write(f"consumer project site.yml (repairing the tampered host): {seconds:.0f} s\n")
    # The HTTPS health check, through nginx to the app.
    health = host.run("curl -sS -o /dev/null -w '%{http_code}' -k --resolve shop.localhost:443:127.0.0.1 "
                      "https://shop.localhost/api/health")
    assert health.stdout == "200", health.stdout + health.stderr
    assert host.service("fail2ban").is_running
    assert host.file("/etc/shop/shop.env").mode == 0o600
    # The live state is back too, and nothing was lost: overrides are kept aside.
    assert host.check_output("mariadb -NBe 'SELECT @@max_connections'") == "1000"
    assert "passwordauthentication no" in host.check_output("sshd -T")
    assert host.file("/var/backups/prodready/ssh/00-allow-passwords.conf").exists
    assert "table inet prodready" in host.check_output("nft list ruleset")
    assert host.check_output("mariadb -NBe \"SELECT COUNT(*) FROM mysql.user WHERE User = 'intruder'\"") == "0"
    assert "intruder" not in host.check_output(f"{REDIS_AUTH} redis-cli ACL USERS")
    assert not host.file("/etc/nginx/sites-enabled/intruder").exists and host.run("nginx -t").rc == 0
    assert not host.file("/etc/systemd/system/shop@.service.d/override.conf").exists
    assert host.file("/var/backups/prodready/systemd/etc/systemd/system/shop@.service.d/override.conf").exists
    assert "INTRUDER" not in host.check_output("systemctl show -p Environment shop@3000.service")
    assert host.file("/etc/cron.d/prodready-backup").exists
    assert "Welcome" not in host.file("/etc/issue.net").content_string
    assert host.file("/etc/ssh/sshd_config").mode == 0o600
    # That the check is clean again is the scheduled check's test below (the same program and
    # playbook, run on the host): one whole-site check fewer in the suite.


def test_an_unreachable_host_is_an_error_and_the_report_says_which(host, tmp_path):
    gone = tmp_path / "gone.yml"
    gone.write_text("cache:\n  hosts:\n    gone:\n      ansible_connection: community.docker.docker\n"
                    "      ansible_host: prodready-drift-no-such-container\n")
    # Only the cache layer: enough to reach both hosts, and quick.
    code, report, markdown, out = drift_check("--", "--tags", "redis", inventories=(INVENTORY, str(gone)), ssh=False)
    assert code == 1, out[-2000:]
    assert report["summary"]["unreachable"] == ["gone"]
    assert report["summary"]["ok"] == [HOST]
    assert "## gone: unreachable" in markdown


def test_the_scheduled_check_on_the_control_host_reports_no_drift_after_the_repair(host):
    # The host's copy of the inventory connects locally when this is in the service's environment.
    host.run("systemctl set-environment PRODREADY_DRIFT_ON_HOST=1")
    try:
        run = host.run("systemctl start prodready-drift-check.service")
    finally:
        host.run("systemctl unset-environment PRODREADY_DRIFT_ON_HOST")
    assert host.service("prodready-drift-check.timer").is_enabled
    report = json.loads(host.file("/var/lib/prodready-drift/reports/latest/drift.json").content_string)
    assert run.rc == 0, (run.stderr, report["summary"], host.run(
        "tail -n 40 /var/lib/prodready-drift/reports/latest/ansible.log").stdout)
    assert report["summary"]["ok"] == [HOST] and report["check_mode"] is True
    assert report["hosts"][HOST]["changes"] == [], report["hosts"][HOST]["changes"]
    # The copies are root's alone where they hold secrets.
    assert host.file("/opt/prodready-drift/inventory").mode == 0o700
    assert host.file("/etc/prodready/drift-check.json").mode == 0o600
    assert not host.file("/opt/prodready-drift/inventory/.ssh").exists
