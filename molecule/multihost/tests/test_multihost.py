"""The scaled setup end to end: inventories/prod's topology and group_vars on one docker network.

Requests come from this machine, as from the internet, to the load balancer's public port (TLS,
with the site's name); the hosts are inspected with docker exec. The tests run in file order:
nginx spreads requests over both app hosts; each app host logs in to MySQL and Redis over the
network with the settings in its environment file; the firewalls let only the app hosts reach the
database and the cache, and only the load balancer reach the instances; a release rolls out one
app host at a time without a failed request; with an app host stopped the site still answers.
lb1 is also the monitoring host: Prometheus scrapes every exporter the inventory implies, probes the
site's health check, sees a backup run, and a stopped app makes the health alert reach a webhook."""
import json
import os
import shlex
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest
import testinfra
import yaml

ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
INVENTORY = os.path.join(ROOT, "molecule", "multihost", "inventory")
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
ADDR = {"lb1": "10.213.7.10", "app1": "10.213.7.21", "app2": "10.213.7.22", "db1": "10.213.7.31",
        "cache1": "10.213.7.41"}
SITE = "shop.example.com"
APP_PORTS = (4100, 4101, 4102)      # the scenario's app_port and app_instances, not prod's


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
ca = urllib.parse.parse_qs(db.query)["sslcert"][0]
assert cache.scheme == "rediss" and ca == os.environ["NODE_EXTRA_CA_CERTS"]
# As the app would: TLS, the server's certificate checked against the internal CA (and its name).
tls_mysql = ["--ssl", "--ssl-ca=" + ca, "--ssl-verify-server-cert"]
tls_redis = ["--tls", "--cacert", ca]
def run(argv, **env):
    r = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=20)
    # The answer, or the error when there is none (the clients' warnings go to stderr).
    return r.stdout.strip() or r.stderr.strip().replace("\n", " ")
print(run(["mariadb", "-h", db.hostname, "-P", str(db.port), "-u", db.username, "-N", "-B", db.path[1:]] + tls_mysql
          + ["-e", "SELECT CURRENT_USER(), @@character_set_server, @@collation_server, @@have_ssl"],
          MYSQL_PWD=urllib.parse.unquote(db.password)))
redis = ["redis-cli", "--no-auth-warning", "-h", cache.hostname, "-p", str(cache.port), "--user", cache.username] + tls_redis
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
    assert out[0].split("\t") == [f"app@{ADDR[app]}", "utf8mb4", "utf8mb4_unicode_ci", "YES"], out
    assert out[1:3] == ["OK", "1"], out
    assert "NOPERM" in out[3], out


# The same logins in clear text, and over TLS without the internal CA's certificate.
PLAIN = r"""
import os, subprocess, urllib.parse
db = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
cache = urllib.parse.urlsplit(os.environ["REDIS_URL"])
def run(argv, **env):
    r = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=20)
    print(r.returncode, (r.stdout.strip() or r.stderr.strip()).replace("\n", " "))
mysql = ["mariadb", "-h", db.hostname, "-P", str(db.port), "-u", db.username, "-N", "-B", "-e", "SELECT 1"]
pw = {"MYSQL_PWD": urllib.parse.unquote(db.password)}
run(mysql + ["--skip-ssl"], **pw)
run(mysql + ["--ssl", "--ssl-ca=/etc/ssl/certs/ca-certificates.crt", "--ssl-verify-server-cert"], **pw)
redis = ["redis-cli", "--no-auth-warning", "-h", cache.hostname, "-p", str(cache.port), "--user", cache.username]
auth = {"REDISCLI_AUTH": urllib.parse.unquote(cache.password)}
run(redis + ["PING"], **auth)
run(redis + ["--tls", "PING"], **auth)
"""


def test_the_database_and_the_cache_refuse_clear_text_and_unverified_servers(hosts):
    """mysql_tls and redis_tls (on, as db1 and cache1 have private addresses): the app account
    REQUIRE SSL, Redis has no plain port, and a client that trusts only the public CAs refuses the
    servers' certificates (the internal CA signed them)."""
    script = f"set -a; . /etc/shop/shop.env; set +a; python3 -c {shlex.quote(PLAIN)}"
    out = hosts["app1"].check_output(f"bash -c {shlex.quote(script)}").splitlines()
    assert len(out) == 4, out
    assert out[0].startswith("1 ") and "Access denied" in out[0], out
    assert out[1].startswith("1 ") and "certificate" in out[1].lower(), out
    assert "PONG" not in out[2] and "PONG" not in out[3], out
    assert "certificate" in out[3].lower(), out
    # On the servers: TLS versions, and the live account's requirement.
    assert hosts["db1"].check_output("mariadb -N -B -e \"SELECT ssl_type FROM mysql.user WHERE user = 'app'\"")\
        .split() == ["ANY", "ANY"]
    tls = hosts["cache1"].check_output("grep -E '^(port|tls-port) ' /etc/redis/redis.conf").splitlines()
    assert tls == ["port 0", "tls-port 6379"], tls


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


# Monitoring (issue #14): lb1 is also the monitoring host, as in inventories/prod.
EXPORTERS = {("node", h) for h in ADDR} | {("mysqld", "db1"), ("redis", "cache1"), ("nginx", "lb1")}
PORTS = {"node": 9100, "mysqld": 9104, "redis": 9121, "nginx": 9113}
PROBE = f"https://{SITE}/api/health"
SINK = "/var/lib/webhook-sink/alerts.jsonl"


def prometheus(hosts, path):
    """One call to Prometheus's API on lb1 (it listens on loopback only)."""
    out = hosts["lb1"].check_output(f"curl -sS --max-time 10 {shlex.quote('http://127.0.0.1:9090' + path)}")
    answer = json.loads(out)
    assert answer["status"] == "success", answer
    return answer["data"]


def query(hosts, expr):
    """{instance: value} of an instant query."""
    data = prometheus(hosts, "/api/v1/query?query=" + urllib.parse.quote(expr))
    return {r["metric"].get("instance"): float(r["value"][1]) for r in data["result"]}


def wait_for(what, check, timeout=120, every=3):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def test_prometheus_scrapes_every_exporter_the_inventory_implies(hosts):
    """Targets come from the inventory's groups: node on all five hosts, mysqld on db1, redis on
    cache1, nginx on lb1, each at its private address, all up (app2 was just restarted: its
    exporter comes back on its own)."""
    def targets():
        data = prometheus(hosts, "/api/v1/targets?state=active")["activeTargets"]
        found = {(t["labels"]["job"], t["labels"]["instance"]): t for t in data}
        return found if all(t["health"] == "up" for t in found.values()) and len(found) >= len(EXPORTERS) + 2 else None
    found = wait_for("every target up", targets)
    assert {k for k in found if k[0] not in ("prometheus", "blackbox")} == EXPORTERS
    for job, host in EXPORTERS:
        assert found[(job, host)]["scrapeUrl"] == f"http://{ADDR[host]}:{PORTS[job]}/metrics"
    assert ("blackbox", PROBE) in found
    # Each exporter reads its service (a wrong password would show as 0 here).
    assert query(hosts, "mysql_up") == {"db1": 1.0}
    assert query(hosts, "redis_up") == {"cache1": 1.0}
    assert query(hosts, "nginx_up") == {"lb1": 1.0}
    # The redis exporter read maxmemory through the renamed CONFIG, so the memory alert has a base.
    assert query(hosts, "redis_config_maxmemory")["cache1"] == 2 * 1024 ** 3
    assert query(hosts, "mysql_global_variables_max_connections")["db1"] == 1000


def test_the_health_probe_of_the_site_succeeds_over_tls(hosts):
    assert wait_for("probe_success 1", lambda: query(hosts, 'probe_success{job="blackbox"}').get(PROBE) == 1.0)
    expiry = query(hosts, 'probe_ssl_earliest_cert_expiry{job="blackbox"}')[PROBE]
    assert expiry > time.time() + 86400, "the probe did not read the certificate's expiry"


def test_exporters_listen_on_the_private_address_and_only_the_monitor_reaches_them(hosts):
    for job, host in sorted(EXPORTERS):
        listening = hosts[host].check_output("ss -Hltn").split()
        assert f"{ADDR[host]}:{PORTS[job]}" in listening, (host, job)
        assert f"0.0.0.0:{PORTS[job]}" not in listening and f"*:{PORTS[job]}" not in listening, (host, job)
    assert connects(hosts["lb1"], ADDR["db1"], PORTS["mysqld"])
    assert connects(hosts["lb1"], ADDR["cache1"], PORTS["redis"])
    assert not connects(hosts["app1"], ADDR["db1"], PORTS["mysqld"]), "app1 reaches db1's exporter"
    assert not connects(hosts["app1"], ADDR["cache1"], PORTS["node"]), "app1 reaches cache1's node exporter"
    assert not connects(hosts["db1"], ADDR["app2"], PORTS["node"]), "db1 reaches app2's node exporter"
    # Prometheus, Alertmanager and the blackbox exporter: loopback only.
    listening = hosts["lb1"].check_output("ss -Hltn").split()
    for port in (9090, 9093, 9115):
        assert f"127.0.0.1:{port}" in listening and f"{ADDR['lb1']}:{port}" not in listening


def test_every_alert_rule_is_loaded(hosts):
    groups = prometheus(hosts, "/api/v1/rules")["groups"]
    names = {r["name"] for g in groups for r in g["rules"]}
    assert names == {"InstanceDown", "HealthCheckFailing", "CertificateExpiringSoon", "DiskAlmostFull",
                     "MySQLDown", "MySQLConnectionsHigh", "PostgreSQLDown", "RedisDown", "RedisMemoryHigh",
                     "NginxDown", "BackupTooOld", "BackupFailed", "BackupMissing", "UnitFailed",
                     "RestoreDrillFailed", "RestoreDrillTooOld", "RestoreDrillMissing"}
    assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups


def test_a_backup_run_reaches_prometheus_through_the_textfile_collector(hosts):
    before = time.time()
    run = hosts["db1"].run("/usr/local/sbin/prodready-backup")
    assert run.rc == 0, run.stderr[-2000:]
    seen = wait_for("the backup's metrics", lambda: query(hosts, "prodready_backup_last_success_timestamp_seconds")
                    .get("db1", 0) >= before - 1 and query(hosts, "prodready_backup_last_run_success"))
    assert seen == {"db1": 1.0}
    assert query(hosts, "prodready_backup_last_size_bytes")["db1"] > 0


def alerts(hosts, name, label="instance"):
    """(status, label's value) of each delivery of the alert the sink recorded, in order."""
    lines = hosts["lb1"].run(f"cat {SINK}").stdout.splitlines()
    out = []
    for line in lines:
        for alert in json.loads(line)["alerts"]:
            if alert["labels"]["alertname"] == name:
                out.append((alert["status"], alert["labels"].get(label)))
    return out


def test_the_health_alert_fires_when_the_app_stops_and_resolves_when_it_is_back(hosts):
    """Meanwhile a service on app1 fails for good, which the health probe cannot see: its
    UnitFailed alert comes from app1's node-exporter."""
    units = " ".join(f"shop@{port}.service" for port in APP_PORTS)
    start = time.monotonic()
    hosts["app1"].run("systemd-run --unit=prtest-dead --property=Restart=no /bin/false")
    for app in ("app1", "app2"):
        hosts[app].check_output(f"systemctl stop {units}")
    try:
        assert get("/api/health")[0] >= 500
        wait_for("a firing HealthCheckFailing at the webhook",
                 lambda: ("firing", PROBE) in alerts(hosts, "HealthCheckFailing"), timeout=180)
        fired = time.monotonic() - start
        wait_for("a firing UnitFailed for app1's dead service at the webhook",
                 lambda: ("firing", "prtest-dead.service") in alerts(hosts, "UnitFailed", "name"), timeout=120)
        assert {i for _, i in alerts(hosts, "UnitFailed")} == {"app1"}
    finally:
        hosts["app1"].run("systemctl reset-failed prtest-dead.service")
        for app in ("app1", "app2"):
            hosts[app].check_output(f"systemctl start {units}")
    back = time.monotonic()
    wait_for("the resolution at the webhook", lambda: alerts(hosts, "HealthCheckFailing")[-1] == ("resolved", PROBE),
             timeout=180)
    resolved = time.monotonic() - back
    assert get("/api/health")[0] == 200
    # Nothing else fired meanwhile (an exporter down, a service down).
    delivered = {a["labels"]["alertname"] for line in hosts["lb1"].check_output(f"cat {SINK}").splitlines()
                 for a in json.loads(line)["alerts"]}
    assert delivered == {"HealthCheckFailing", "UnitFailed"}, delivered
    # The figures and the memory the monitoring stack uses on lb1 (resident, per process), for the notes.
    rss = {}
    for line in hosts["lb1"].check_output("ps -eo rss=,comm=").splitlines():
        kb, comm = line.split(None, 1)
        if comm.startswith("prometheus"):
            rss[comm] = rss.get(comm, 0) + int(kb)
    os.makedirs(os.path.join(ROOT, ".cache", "logs"), exist_ok=True)
    with open(os.path.join(ROOT, ".cache", "logs", "monitoring.txt"), "w", encoding="utf-8") as out:
        out.write(f"health alert delivered {fired:.0f} s after the app stopped (for: 20s, scrape and evaluation 5 s, "
                  f"group_wait 5 s); resolution delivered {resolved:.0f} s after it started again\n")
        out.write("resident memory on lb1: " + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in sorted(rss.items()))
                  + f"; total {sum(rss.values()) / 1024:.1f} MiB\n")
    assert {"prometheus", "prometheus-aler", "prometheus-blac", "prometheus-node"} <= set(rss), rss


def test_the_monitoring_playbook_changes_nothing_in_check_mode(hosts):
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "monitoring.yml"),
                          "--check", "--diff"], capture_output=True, text=True, timeout=900, check=False, cwd=ROOT)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    recap = run.stdout.rsplit("PLAY RECAP", 1)[-1]
    changed, task = [], ""
    for line in run.stdout.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line
        elif line.startswith("changed:"):
            changed.append(f"{task} {line}")
    assert recap.count("changed=0") == len(ADDR), (recap, changed)


def test_a_key_change_that_would_lock_the_controller_out_is_put_back(hosts, tmp_path):
    """Issue #26 item 2, over real SSH from this machine to cache1 as the deploy user (the scenario
    otherwise uses docker exec): a run that changes the keys but keeps the controller's proves a
    new login and leaves no timer; a run that drops the controller's key is caught by the new
    login, the previous keys come back and the run stops saying so."""
    cache1 = hosts["cache1"]
    keys_file = "/home/deploy/.ssh/authorized_keys"
    key = tmp_path / "controller_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "multihost-controller", "-f", str(key)],
                   check=True)
    pub = (tmp_path / "controller_ed25519.pub").read_text().strip()
    with open(os.path.join(INVENTORY, "group_vars", "all", "test.yml"), encoding="utf-8") as f:
        scenario_keys = yaml.safe_load(f)["security_deploy_keys"]
    original = cache1.file(keys_file).content_string
    cache1.check_output(f"printf '%s\\n' {shlex.quote(pub)} >> {keys_file}")
    over_ssh = {"ansible_connection": "ssh", "ansible_host": ADDR["cache1"], "ansible_user": "deploy",
                "ansible_become": True, "ansible_ssh_private_key_file": str(key),
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
    login = ["ssh", "-o", "BatchMode=yes", "-o", "ControlPath=none", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-i", str(key), f"deploy@{ADDR['cache1']}",
             "true"]

    # Host variables in an inventory file given after the scenario's, not -e: extra variables
    # would also send the role's delegate_to: localhost over SSH to cache1.
    ssh_inventory = tmp_path / "cache1-over-ssh.yml"
    ssh_inventory.write_text(json.dumps({"all": {"hosts": {"cache1": over_ssh}}}))

    def security(keys):
        run = subprocess.run(["ansible-playbook", "-i", INVENTORY, "-i", str(ssh_inventory),
                              os.path.join(ROOT, "playbooks", "security.yml"), "--limit", "cache1",
                              "-e", json.dumps({"security_deploy_keys": keys})],
                             capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
        return run.returncode, run.stdout + run.stderr

    try:
        # The controller's key first: another file than the one written by hand above, so the
        # run changes the keys (and proves the new login).
        rc, out = security([pub] + scenario_keys)
        assert rc == 0, out[-3000:]
        assert "TASK [prodready.vps.security : Login | Log in anew from the controller" in out, out[-3000:]
        assert cache1.run("systemctl is-active prodready-ssh-undo.timer").stdout.strip() != "active"
        assert cache1.check_output("ls -A /home/deploy/.ssh") == "authorized_keys", "backups left behind"

        rc, out = security(scenario_keys)
        text = " ".join(out.split())
        assert rc != 0, out[-3000:]
        assert (f"A new SSH login as deploy@{ADDR['cache1']}:22 failed after this run changed "
                f"{keys_file}, so the previous files are back") in text, out[-3000:]
        assert pub in cache1.file(keys_file).content_string
        assert cache1.run("systemctl is-active prodready-ssh-undo.timer").stdout.strip() != "active"
        assert subprocess.run(login, capture_output=True, timeout=30, check=False).returncode == 0
    finally:
        cache1.check_output(f"printf '%s' {shlex.quote(original)} > {keys_file}")
        cache1.run("rm -f /home/deploy/.ssh/authorized_keys.*~")


@pytest.mark.parametrize("name", list(ADDR))
def test_no_failed_units(hosts, name):
    assert hosts[name].run("systemctl is-system-running --wait").stdout.strip() in ("running", "degraded")
    failed = hosts[name].check_output("systemctl list-units --failed --plain --no-legend")
    assert failed == "", failed
