"""The drift check end to end, on a host converged with every role (site.yml).

The tests run in file order on the one host: clean report, tampering named exactly, converge,
clean again, an unreachable host, then the check the drift_check role schedules on the host."""
import json
import os
import re
import subprocess
import tempfile

import pytest


ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
SCENARIO = os.path.join(ROOT, "molecule", "drift")
INVENTORY = os.path.join(SCENARIO, "inventory")
HOST = "drift13"
MARKER = "prtestsecret"
REDIS_AUTH = "REDISCLI_AUTH=prtestsecret-drift-redis-8f1b2c3d4e5f60718293"


def drift_check(*args, inventories=(INVENTORY,)):
    """scripts/drift-check as a user runs it; returns (exit code, report, markdown, output)."""
    reports = tempfile.mkdtemp(prefix="drift-reports-")
    cmd = [os.path.join(ROOT, "scripts", "drift-check"), "-q", "--reports", reports]
    for inv in inventories:
        cmd += ["-i", inv]
    run = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=1200, check=False)
    latest = os.path.join(reports, "latest")
    with open(os.path.join(latest, "drift.json")) as f:
        report = json.load(f)
    with open(os.path.join(latest, "drift.md")) as f:
        markdown = f.read()
    return run.returncode, report, markdown, run.stdout + run.stderr


def describe(entry):
    return " | ".join(str(entry.get(k, "")) for k in ("role", "task", "action", "item", "diff"))


# What each tampering must show up as in the report: (name, predicate over a change entry).
TAMPERING = {
    "redis live CONFIG SET": lambda e: e["action"].endswith("redis_config") and "maxmemory-policy" in describe(e),
    "redis.conf edited": lambda e: e["action"].endswith("template") and "/etc/redis/redis.conf" in describe(e),
    "mysql index dropped": lambda e: e["action"].endswith("mysql_index") and "idx_orders_user_created" in describe(e),
    "nginx site edited": lambda e: (e["action"].endswith("template")
                                    and "sites-available/shop.localhost.conf" in describe(e)),
    "fail2ban stopped": lambda e: "fail2ban" in describe(e) and e["action"].endswith(("service", "systemd_service")),
    # Its task is no_log (secrets inside): the report names the task, never the content.
    "app env file 0644": lambda e: e["role"] == "app" and "environment file" in e["task"] and e.get("censored"),
    "less removed": lambda e: e["action"].endswith(("apt", "package")) and re.search(r"\bless\b", describe(e)),
}


def consequence(entry, changes):
    """A restart or reload the run would make because of a tampering in the same role (a handler,
    or the app's restart of instances whose environment changed) is explained by that tampering."""
    tampered_roles = {e["role"] for e in changes if any(m(e) for m in TAMPERING.values())}
    return (entry["role"] in tampered_roles and entry["action"].endswith("systemd_service")
            and (entry.get("handler") or "Restart" in entry["task"] or "Reload" in entry["task"]))


@pytest.fixture(scope="module")
def tampered(host):
    """Make every change at once, behind Ansible's back, as an operator or an intruder would."""
    cmds = [
        f"{REDIS_AUTH} redis-cli prtestsecret_DCFG_5b2e SET maxmemory-policy noeviction",
        "sed -i 's/^tcp-backlog .*/tcp-backlog 4096/' /etc/redis/redis.conf",
        "mariadb -e 'DROP INDEX idx_orders_user_created ON app.orders'",
        "sed -i 's/client_max_body_size [0-9a-z]*;/client_max_body_size 900m;/' "
        "/etc/nginx/sites-available/shop.localhost.conf",
        "systemctl stop fail2ban",
        "chmod 0644 /etc/shop/shop.env",
        # dpkg removes that one package or refuses (rsync, say, would take mariadb-server with it).
        "dpkg --remove less",
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
    return cmds


def test_converged_host_has_no_drift(host):
    code, report, markdown, out = drift_check()
    assert code == 0, out[-3000:] + markdown[:6000]
    assert report["check_mode"] is True
    assert report["summary"] == {"ok": [HOST], "drift": [], "failed": [], "unreachable": []}
    assert report["hosts"][HOST]["changes"] == []


def test_each_tampering_is_named_on_its_host_and_nothing_else(tampered):
    code, report, markdown, out = drift_check()
    assert code == 2, out[-3000:]
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


def test_converge_repairs_and_the_check_is_clean_again(host):
    # With the scenario's own inventory (where the groups are), as a user runs site.yml.
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(SCENARIO, "converge.yml")],
                         capture_output=True, text=True, timeout=1800, check=False)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert host.service("fail2ban").is_running
    assert host.file("/etc/shop/shop.env").mode == 0o600
    code, report, markdown, out = drift_check()
    assert code == 0, out[-2000:] + markdown[:6000]


def test_an_unreachable_host_is_an_error_and_the_report_says_which(host, tmp_path):
    gone = tmp_path / "gone.yml"
    gone.write_text("cache:\n  hosts:\n    gone:\n      ansible_connection: community.docker.docker\n"
                    "      ansible_host: prodready-drift-no-such-container\n")
    # Only the cache layer: enough to reach both hosts, and quick.
    code, report, markdown, out = drift_check("--", "--tags", "redis", inventories=(INVENTORY, str(gone)))
    assert code == 1, out[-2000:]
    assert report["summary"]["unreachable"] == ["gone"]
    assert report["summary"]["ok"] == [HOST]
    assert "## gone: unreachable" in markdown


def test_the_scheduled_check_on_the_control_host_reports_no_drift(host):
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
    # The copies are root's alone where they hold secrets.
    assert host.file("/opt/prodready-drift/inventory").mode == 0o700
    assert host.file("/etc/prodready/drift-check.json").mode == 0o600
    assert not host.file("/opt/prodready-drift/inventory/.ssh").exists
