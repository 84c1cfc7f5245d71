"""The scaled setup end to end: inventories/prod's topology and group_vars on one docker network.

Requests come from this machine, as from the internet, to the load balancer's public port (TLS,
with the site's name); the hosts are inspected with docker exec. The tests run in file order:
nginx spreads requests over both app hosts; each app host logs in to MySQL and Redis over the
network with the settings in its environment file; the firewalls let only the app hosts reach the
database and the cache, and only the load balancer reach the instances; a release rolls out one
app host at a time without a failed request; with an app host stopped the site still answers."""
import json
import os
import shlex
import socket
import ssl
import subprocess
import threading
import time

import pytest
import testinfra

ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
INVENTORY = os.path.join(ROOT, "molecule", "multihost", "inventory")
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
ADDR = {"lb1": "10.213.7.10", "app1": "10.213.7.21", "app2": "10.213.7.22", "db1": "10.213.7.31",
        "cache1": "10.213.7.41"}
SITE = "shop.example.com"
APP_PORTS = (3000, 3001)


@pytest.fixture(scope="module")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in ADDR}


def get(path="/api/instance", timeout=30):
    """(status, JSON body) of one HTTPS request to the load balancer, with the site's name (SNI and
    Host): nginx rejects a handshake without a known name. The certificate is the test's own
    self-signed one (the nginx and certbot scenarios check certificates)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((ADDR["lb1"], 443), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=SITE) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {SITE}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {"raw": body[:200].decode(errors="replace")}


def dechunk(body):
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            break
        out, body = out + rest[:n], rest[n + 2:]
    return out


class LoadLoop(threading.Thread):
    """A bounded request loop through the load balancer (at most 20 a second), recording each
    answer's time, status, app host and release."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.answers, self.errors = threading.Event(), [], []

    def run(self):
        while not self.stop.is_set():
            try:
                status, body = get()
                self.answers.append((time.monotonic(), status, body.get("host"), body.get("release")))
            except OSError as err:
                self.errors.append(repr(err))
            time.sleep(0.05)


def connects(host, address, port):
    """Whether a TCP connection from the host to address:port is made within 3 seconds (the
    firewalls drop what they refuse, so a refusal is a timeout)."""
    return host.run(f"timeout 3 bash -c '</dev/tcp/{address}/{port}'").rc == 0


def test_nginx_spreads_requests_over_every_instance_on_both_app_hosts():
    seen = set()
    for _ in range(24):
        status, body = get()
        assert status == 200, body
        seen.add((body["host"], body["port"]))
    assert seen == {(h, p) for h in ("app1", "app2") for p in APP_PORTS}
    assert get("/api/health")[0] == 200


# Runs on the app host with the app's environment file loaded, as the app reads its settings.
CONNECT = r"""
import os, subprocess, urllib.parse
db = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
cache = urllib.parse.urlsplit(os.environ["REDIS_URL"])
def run(argv, **env):
    r = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=20)
    # The answer, or the error when there is none (the clients' warnings go to stderr).
    return r.stdout.strip() or r.stderr.strip().replace("\n", " ")
print(run(["mariadb", "-h", db.hostname, "-P", str(db.port), "-u", db.username, "-N", "-B", db.path[1:], "-e",
           "SELECT CURRENT_USER(), @@character_set_server, @@collation_server"],
          MYSQL_PWD=urllib.parse.unquote(db.password)))
redis = ["redis-cli", "--no-auth-warning", "-h", cache.hostname, "-p", str(cache.port), "--user", cache.username]
auth = {"REDISCLI_AUTH": urllib.parse.unquote(cache.password)}
print(run(redis + ["SET", "multihost:" + os.uname().nodename, "1"], **auth))
print(run(redis + ["GET", "multihost:" + os.uname().nodename], **auth))
print(run(redis + ["BGSAVE"], **auth))
"""


@pytest.mark.parametrize("app", ["app1", "app2"])
def test_each_app_host_logs_in_to_mysql_and_redis_over_the_network(hosts, app):
    """DATABASE_URL and REDIS_URL were derived from the inventory (the db and cache hosts' private
    addresses): the app user logs in from this host's address; the Redis ACL user may read and
    write but not run a dangerous command."""
    script = f"set -a; . /etc/shop/shop.env; set +a; python3 -c {shlex.quote(CONNECT)}"
    out = hosts[app].check_output(f"bash -c {shlex.quote(script)}").splitlines()
    assert out[0].split("\t") == [f"app@{ADDR[app]}", "utf8mb4", "utf8mb4_unicode_ci"], out
    assert out[1:3] == ["OK", "1"], out
    assert "NOPERM" in out[3], out


def test_only_app_hosts_reach_the_database_and_the_cache(hosts):
    for service, port in (("db1", 3306), ("cache1", 6379)):
        for app in ("app1", "app2"):
            assert connects(hosts[app], ADDR[service], port), f"{app} cannot reach {service}:{port}"
        assert not connects(hosts["lb1"], ADDR[service], port), f"lb1 reaches {service}:{port}"
        # This machine is on the network too (the bridge's address), like any other neighbour.
        with pytest.raises(OSError):
            socket.create_connection((ADDR[service], port), timeout=3).close()


def test_only_the_load_balancer_reaches_the_instances(hosts):
    for app in ("app1", "app2"):
        for port in APP_PORTS:
            assert connects(hosts["lb1"], ADDR[app], port)
            assert not connects(hosts["db1"], ADDR[app], port), f"db1 reaches {app}:{port}"


def release_of(host):
    return host.check_output("readlink /srv/shop/current").rsplit("/", 1)[-1]


def test_a_release_rolls_out_one_app_host_at_a_time_without_a_failed_request(hosts):
    before = {app: release_of(hosts[app]) for app in ("app1", "app2")}
    subprocess.run(["python3", os.path.join(ROOT, "tests/fixtures/apps/pack.py"),
                    os.path.join(ROOT, "tests/fixtures/apps/node-sample"),
                    os.path.join(EPHEMERAL, "shop-2.tar.gz"), "--version", "2"], check=True)
    loop = LoadLoop()
    loop.start()
    time.sleep(2)
    deploy = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "app.yml"),
                             "-e", "multihost_release=2"],
                            capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT)
    time.sleep(2)
    loop.stop.set()
    loop.join(60)
    assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-4000:]
    answers = loop.answers
    failed = [a for a in answers if a[1] != 200]
    assert not loop.errors and not failed, (loop.errors[:5], failed[:5])
    assert len(answers) > 100, f"only {len(answers)} requests during the deploy"
    # Host by host: app2 served its first release-2 answer only after app1 served its last
    # release-1 answer, and until then app2 kept answering with release 1.
    last_old_app1 = max(t for t, _, h, r in answers if h == "app1" and r == "1")
    first_new_app2 = min(t for t, _, h, r in answers if h == "app2" and r == "2")
    assert last_old_app1 < first_new_app2
    assert any(h == "app2" and r == "1" and t > last_old_app1 for t, _, h, r in answers)
    # The figures, beside the harness's log (the closing notes quote them).
    os.makedirs(os.path.join(ROOT, ".cache", "logs"), exist_ok=True)
    with open(os.path.join(ROOT, ".cache", "logs", "multihost-rollout.txt"), "w", encoding="utf-8") as out:
        span = answers[-1][0] - answers[0][0]
        out.write(f"{len(answers)} requests in {span:.0f} s during the rolling deploy, {len(failed)} failed; "
                  f"app2's first release-2 answer came {first_new_app2 - last_old_app1:.1f} s after app1's last "
                  f"release-1 answer\n")
    after = {app: release_of(hosts[app]) for app in ("app1", "app2")}
    assert after["app1"] == after["app2"] != before["app1"]
    assert {get()[1]["release"] for _ in range(8)} == {"2"}


def test_with_an_app_host_stopped_the_site_still_answers(hosts):
    subprocess.run(["docker", "stop", "-t", "30", "app2"], check=True, capture_output=True)
    try:
        served = [get() for _ in range(20)]
        assert all(status == 200 for status, _ in served), served
        assert {body["host"] for _, body in served} == {"app1"}
    finally:
        subprocess.run(["docker", "start", "app2"], check=True, capture_output=True)
    # The host comes back on its own (units enabled, firewall loaded at boot) and gets requests again.
    deadline, seen = time.monotonic() + 120, set()
    while time.monotonic() < deadline and "app2" not in seen:
        status, body = get()
        seen.add(body.get("host"))
        time.sleep(0.5)
    assert "app2" in seen, "app2 did not come back into the rotation"
    assert not connects(hosts["lb1"], ADDR["db1"], 3306)
    assert not connects(hosts["db1"], ADDR["app2"], APP_PORTS[0]), "app2's firewall is not back"


@pytest.mark.parametrize("name", list(ADDR))
def test_no_failed_units(hosts, name):
    assert hosts[name].run("systemctl is-system-running --wait").stdout.strip() in ("running", "degraded")
    failed = hosts[name].check_output("systemctl list-units --failed --plain --no-legend")
    assert failed == "", failed
