"""The app role's instances, checked from inside each host with a separate HTTP client, /proc and
systemd: they answer on their ports as the app user, keep secrets private, come back after a crash
and a reboot-equivalent, deploy a second release without a failed request, and roll a broken one
back. Deploys run this scenario's converge.yml again through ansible-playbook."""
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from helpers import run_converge  # noqa: E402

SHOP = {"name": "shop", "ports": [3000, 3001, 3002]}
API = {"name": "api", "ports": [8000, 8001]}
CONVERGE = Path(__file__).resolve().parent.parent / "converge.yml"


def get(host, port, path="/api/instance"):
    """(status, body) from the instance, asked with python's urllib inside the host."""
    script = (
        "import json,sys,urllib.request,urllib.error\n"
        f"try:\n r=urllib.request.urlopen('http://127.0.0.1:{port}{path}',timeout=5); print(r.status); print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n print(e.code); print(e.read().decode())\n"
        "except Exception as e:\n print(0); print(json.dumps({'error': repr(e)}))\n")
    out = host.check_output(f"python3 -c {shlex.quote(script)}").splitlines()
    return int(out[0]), json.loads(out[1])


def wait_healthy(host, port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if get(host, port, "/api/health")[0] == 200:
            return True
        time.sleep(0.5)
    return False


def main_pid(host, unit):
    return int(host.check_output(f"systemctl show -p MainPID --value {unit}"))


def release_of(host, app):
    return host.check_output(f"readlink /srv/{app}/current").rsplit("/", 1)[-1]


def deploy(host, **extra):
    return run_converge(host, CONVERGE, **extra)


@pytest.mark.parametrize("app", [SHOP, API], ids=["shop", "api"])
def test_every_instance_answers_on_its_own_port(host, app):
    for port in app["ports"]:
        status, body = get(host, port)
        assert status == 200 and body["port"] == port
        assert get(host, port, "/api/health")[0] == 200


@pytest.mark.parametrize("app", [SHOP, API], ids=["shop", "api"])
def test_instances_run_as_the_app_user_not_root(host, app):
    uid = int(host.check_output(f"id -u {app['name']}"))
    assert uid != 0
    for port in app["ports"]:
        assert get(host, port)[1]["uid"] == uid
        pid = main_pid(host, f"{app['name']}@{port}.service")
        assert host.check_output(f"ps -o user= -p {pid}") == app["name"]


@pytest.mark.parametrize("app", [SHOP, API], ids=["shop", "api"])
def test_env_file_is_0600_root_and_unreadable_to_the_app_user(host, app):
    env = host.file(f"/etc/{app['name']}/{app['name']}.env")
    assert (env.mode, env.user, env.group) == (0o600, "root", "root")
    assert host.run(f"runuser -u {app['name']} -- cat /etc/{app['name']}/{app['name']}.env").rc != 0
    assert host.run(f"runuser -u nobody -- cat /etc/{app['name']}/{app['name']}.env").rc != 0


def test_secrets_reach_the_app_verbatim(host):
    """Quotes, $ and backslashes survive the environment file; compared by digest so no failure
    message can print a secret."""
    expected = host.ansible.get_variables()["sample_secret_env"]
    pid = main_pid(host, "shop@3000.service")
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
    live = dict(line.split("=", 1) for line in environ.splitlines() if "=" in line)
    for key, value in expected.items():
        assert key in live, f"{key} is missing from the process environment"
        assert hashlib.sha256(live[key].encode()).hexdigest() == hashlib.sha256(value.encode()).hexdigest(), (
            f"{key} differs from the inventory value")
    assert live["PORT"] == "3000" and live["NODE_ENV"] == "production"


def test_instances_are_confined(host):
    pid = main_pid(host, "shop@3000.service")
    status = host.check_output(f"cat /proc/{pid}/status")
    assert "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status
    root = host.check_output(f"awk '$5 == \"/\" {{print $6}}' /proc/{pid}/mountinfo")
    assert root.startswith("ro"), f"/ is not read-only for the app: {root}"
    # The release is read-only at run time, even for root in the app's mount namespace (and root's
    # files besides); shared/ is writable (the worker writes its heartbeat there).
    release = host.check_output("readlink -f /srv/shop/current")
    as_app = f"nsenter -t {pid} -m -S {pid_uid(host, pid)}"
    denied = host.run(f"nsenter -t {pid} -m touch {release}/probe")
    assert denied.rc != 0 and "Read-only file system" in denied.stderr
    assert host.run(f"{as_app} touch {release}/probe").rc != 0
    host.check_output(f"{as_app} touch /srv/shop/shared/logs/probe && rm /srv/shop/shared/logs/probe")


def pid_uid(host, pid):
    return host.check_output(f"stat -c %u /proc/{pid}")


def test_websocket_echo(host):
    script = ("const W=require('ws');const w=new W('ws://127.0.0.1:3001/socket.io/');"
              "w.on('open',()=>w.send('hello'));w.on('message',m=>{console.log(String(m));process.exit(0)});"
              "setTimeout(()=>process.exit(2),5000)")
    assert host.check_output(f"cd /srv/shop/current && node -e {shlex.quote(script)}") == "3001:hello"


def test_worker_runs_as_the_app_user_and_writes_to_shared(host):
    pid = main_pid(host, "shop-worker.service")
    assert pid > 0 and host.check_output(f"ps -o user= -p {pid}") == "shop"
    first = host.file("/srv/shop/shared/logs/worker-heartbeat").mtime
    time.sleep(2.5)
    assert host.file("/srv/shop/shared/logs/worker-heartbeat").mtime > first


def test_migration_ran_once_for_the_release(host):
    """converge and idempotence both ran; the migration ran in the first only."""
    log = host.check_output("cat /srv/shop/shared/logs/migrations.log").splitlines()
    assert log == [release_of(host, "shop")]


@pytest.mark.parametrize("app", [SHOP, API], ids=["shop", "api"])
def test_a_release_is_built_without_the_secrets_and_then_root_owns_it(host, app):
    """Issue #26 item 4: the install and build never see the environment file (the sample's
    build writes whether SESSION_SECRET was set); the app reads the finished release, cannot
    change it, and still writes to shared/."""
    current = f"/srv/{app['name']}/current"
    if app is SHOP:
        assert host.file(f"{current}/BUILD").content_string == "built\n"
    assert host.check_output(f"stat -c %U {current}") == "root"
    assert host.check_output(f"stat -L -c '%U %G %a' {current}") == f"root {app['name']} 750"
    owners = host.check_output(f"find -P {current}/ -not -user root -printf '%p\\n'")
    assert owners == "", owners
    assert host.run(f"runuser -u {app['name']} -- touch {current}/intruder").rc != 0
    assert host.run(f"runuser -u {app['name']} -- touch {current}/logs/can-write && rm {current}/logs/can-write").rc == 0


def test_kill_9_is_followed_by_a_restart(host):
    unit = "shop@3001.service"
    before = main_pid(host, unit)
    host.check_output(f"kill -9 {before}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and main_pid(host, unit) in (0, before):
        time.sleep(0.5)
    assert main_pid(host, unit) not in (0, before)
    assert wait_healthy(host, 3001)


def test_reboot_equivalent_brings_every_unit_back(host):
    units = [f"shop@{p}.service" for p in SHOP["ports"]] + [f"api@{p}.service" for p in API["ports"]]
    host.check_output(f"systemctl stop {' '.join(units)} shop-worker.service")
    assert all(get(host, p)[0] == 0 for p in SHOP["ports"] + API["ports"])
    # What boot does: start the default target, which pulls in every enabled unit.
    host.check_output("systemctl start multi-user.target")
    assert all(wait_healthy(host, p) for p in SHOP["ports"] + API["ports"])
    assert host.service("shop-worker.service").is_running


def test_second_release_rolls_out_without_a_failed_request(host):
    first = release_of(host, "shop")
    ports = " ".join(str(p) for p in SHOP["ports"])
    host.run("rm -f /tmp/loadloop.stop /tmp/loadloop.json; systemctl reset-failed loadloop 2>/dev/null")
    host.check_output(f"systemd-run --unit=loadloop --collect /usr/local/bin/loadloop /tmp/loadloop.json "
                      f"/tmp/loadloop.stop 600 {ports}")
    rc, out = deploy(host, sample_version="2", sample_apps=["shop"])
    host.check_output("touch /tmp/loadloop.stop")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not host.file("/tmp/loadloop.json").exists:
        time.sleep(0.5)
    assert rc == 0, out[-3000:]
    result = json.loads(host.check_output("cat /tmp/loadloop.json"))
    assert result["failed"] == 0, result["errors"]
    assert result["requests"] > 100
    assert set(result["releases"]) == {"1", "2"}, "the loop should have seen both releases"
    assert release_of(host, "shop") != first
    assert all(get(host, p)[1]["release"] == "2" for p in SHOP["ports"])
    assert host.check_output("cat /srv/shop/shared/logs/migrations.log").splitlines() == [
        first, release_of(host, "shop")]


def test_broken_release_is_rolled_back_and_the_old_one_keeps_answering(host):
    good = release_of(host, "shop")
    rc, out = deploy(host, sample_version="3", sample_broken=True, sample_apps=["shop"])
    assert rc != 0, "a release that fails its health check must fail the run"
    assert "rolled back to " + good in " ".join(out.split()), out[-3000:]
    assert release_of(host, "shop") == good
    assert all(get(host, p)[1]["release"] == "2" for p in SHOP["ports"])
    assert host.check_output("ls /srv/shop/releases").split() == sorted([good, *old_releases(host, good)])


def old_releases(host, good):
    return [r for r in host.check_output("ls /srv/shop/releases").split() if r != good]


def test_only_app_keep_releases_are_kept(host):
    """app_keep_releases is 2 for shop: release 1 and 2 remain, the broken one is gone."""
    releases = host.check_output("ls /srv/shop/releases").split()
    assert len(releases) == 2 and release_of(host, "shop") in releases
    assert all(host.file(f"/srv/shop/releases/{r}/.prodready-release").exists for r in releases)


def test_new_commit_deploys_from_git(host):
    before = release_of(host, "api")
    host.check_output(
        "cd /srv/git/api-work && echo 2 > VERSION && git -c user.name=t -c user.email=t@example.invalid "
        "commit -qam 'release 2' && git push -q origin main")
    rc, out = deploy(host, sample_apps=["api"])
    assert rc == 0, out[-3000:]
    commit = host.check_output("git --git-dir=/srv/git/api.git rev-parse main")
    assert release_of(host, "api") == commit[:12] != before
    assert all(get(host, p)[1]["release"] == "2" for p in API["ports"])


def test_no_failed_units(host):
    assert host.run("systemctl --failed --no-legend --plain").stdout.strip() == ""
