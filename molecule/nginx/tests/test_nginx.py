"""The web tier seen by a client inside each host (curl, openssl, a node websocket client): a
certificate Pebble issued through certbot's webroot challenge, HTTPS only, the headers, the
limits, the balancing over the app instances, and a bad config that never goes live."""
import shlex
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from helpers import run_converge  # noqa: E402

CONVERGE = Path(__file__).resolve().parent.parent / "converge.yml"
PORTS = {3000, 3001, 3002}
ROOT = "/tmp/pebble-root.pem"


@pytest.fixture(scope="module", autouse=True)
def pebble_root(host):
    """The root Pebble signs certificates with (it makes a new one each start)."""
    host.check_output(f"curl -sS --cacert /etc/pebble/api-ca.pem https://localhost:15000/roots/0 -o {ROOT}")


def curl(host, url, *args):
    """(http_code, body) of a request that verifies the certificate against Pebble's root."""
    out = host.run(f"curl -sS --max-time 10 --cacert {ROOT} -w '\\n%{{http_code}}' {' '.join(args)} {shlex.quote(url)}")
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def instance_port(host, path="/api/instance"):
    code, body = curl(host, f"https://shop.test{path}")
    assert code == 200, body
    return int(body.split('"port":')[1].split(",")[0])


def test_certificate_was_issued_by_pebble_for_both_names(host):
    assert curl(host, "https://shop.test/api/health")[0] == 200
    assert curl(host, "https://www.shop.test/api/health")[0] == 200
    text = host.check_output("openssl x509 -noout -issuer -ext subjectAltName -in /etc/nginx/tls/shop.test/fullchain.pem")
    assert "Pebble" in text and "DNS:shop.test" in text and "DNS:www.shop.test" in text
    assert host.file("/etc/nginx/tls/shop.test/fullchain.pem").linked_to.startswith("/etc/letsencrypt/")


def test_renewal_dry_run_passes_against_the_acme_server(host):
    # --dry-run goes to Let's Encrypt staging unless the server is named again.
    run = host.run("REQUESTS_CA_BUNDLE=/etc/pebble/api-ca.pem certbot renew --dry-run --no-random-sleep-on-renew "
                   "--server https://localhost:14000/dir")
    assert run.rc == 0, run.stdout + run.stderr
    assert "Congratulations, all simulated renewals succeeded" in run.stdout + run.stderr


def test_renewal_timer_is_on(host):
    assert host.service("certbot.timer").is_enabled and host.service("certbot.timer").is_running


def test_http_redirects_to_https(host):
    out = host.check_output("curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://shop.test/api/x?a=1")
    assert out == "301 https://shop.test/api/x?a=1"


def test_security_headers(host):
    headers = host.check_output(f"curl -sS -D - -o /dev/null --cacert {ROOT} https://shop.test/api/health").lower()
    assert "strict-transport-security: max-age=31536000; includesubdomains" in headers
    assert "x-content-type-options: nosniff" in headers
    assert "x-frame-options: deny" in headers
    assert "referrer-policy: strict-origin-when-cross-origin" in headers
    assert "content-security-policy: default-src 'self'" in headers
    assert "server: nginx\r" in headers, "server_tokens off hides the version"


def test_http2_and_modern_tls_only(host):
    assert host.check_output(f"curl -sS -o /dev/null -w '%{{http_version}}' --http2 --cacert {ROOT} https://shop.test/api/health") == "2"
    old = host.run("curl -sS -o /dev/null --tls-max 1.1 --tlsv1 -k https://shop.test/api/health")
    assert old.rc != 0, "TLS 1.1 must be refused"


def test_requests_are_spread_over_every_instance(host):
    assert {instance_port(host) for _ in range(30)} == PORTS


def test_a_stopped_instance_is_skipped_without_client_errors(host):
    host.check_output("systemctl stop shop@3001.service")
    try:
        codes = [curl(host, "https://shop.test/api/instance")[0] for _ in range(30)]
        assert codes == [200] * 30
        assert {instance_port(host) for _ in range(20)} == {3000, 3002}
    finally:
        host.check_output("systemctl start shop@3001.service")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and curl(host, "http://127.0.0.1:3001/api/health")[0] != 200:
        time.sleep(0.5)


def test_restarting_every_instance_in_turn_drops_no_request(host):
    """What the app role's rolling restart does, seen through nginx: a request loop runs while each
    instance restarts in turn, healthy and then a pause longer than nginx_upstream_fail_timeout
    before the next; nginx moves a refused request to the next instance."""
    host.run("rm -f /tmp/loop.out; systemctl reset-failed loop 2>/dev/null")
    host.check_output(
        "systemd-run --unit=loop --collect sh -c 'for i in $(seq 400); do curl -s -o /dev/null "
        f"-w \"%{{http_code}}\\n\" --max-time 10 --cacert {ROOT} https://shop.test/api/instance; done > /tmp/loop.out'")
    for port in sorted(PORTS):
        host.check_output(f"systemctl restart shop@{port}.service")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and curl(host, f"http://127.0.0.1:{port}/api/health")[0] != 200:
            time.sleep(0.2)
        time.sleep(3)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and host.run("systemctl is-active loop").stdout.strip() == "active":
        time.sleep(1)
    codes = host.check_output("sort /tmp/loop.out | uniq -c").split()
    assert codes == ["400", "200"], codes


def test_websocket_echo_through_nginx(host):
    script = ("const W=require('ws');const w=new W('wss://shop.test/socket.io/');"
              "w.on('open',()=>w.send('hello'));w.on('message',m=>{console.log(String(m));process.exit(0)});"
              "w.on('error',e=>{console.error(String(e));process.exit(3)});setTimeout(()=>process.exit(2),5000)")
    out = host.check_output(f"cd /srv/shop/current && NODE_EXTRA_CA_CERTS={ROOT} node -e {shlex.quote(script)}")
    port, _, message = out.partition(":")
    assert int(port) in PORTS and message == "hello"


def test_body_size_limit(host):
    host.check_output("head -c 51M /dev/zero > /tmp/51m && head -c 1M /dev/zero > /tmp/1m")
    assert curl(host, "https://shop.test/api/upload", "-X POST --data-binary @/tmp/1m")[0] == 200
    assert curl(host, "https://shop.test/api/upload", "-X POST --data-binary @/tmp/51m")[0] == 413


def test_auth_zone_answers_429_after_5_attempts_and_health_is_exempt(host):
    codes = [curl(host, "https://shop.test/api/auth/login", "-X POST")[0] for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429, codes
    health = host.check_output(
        f"for i in $(seq 150); do curl -s -o /dev/null -w '%{{http_code}}\\n' --cacert {ROOT} "
        "https://shop.test/api/health; done | sort | uniq -c")
    assert health.split() == ["150", "200"], health


def test_unknown_host_names_get_no_site(host):
    plain = host.run("curl -sS -o /dev/null -H 'Host: evil.test' http://127.0.0.1/")
    assert plain.rc == 52, "nginx should close the connection without a reply (444)"
    tls = host.run("curl -sS -o /dev/null -k --resolve evil.test:443:127.0.0.1 https://evil.test/")
    assert tls.rc == 35, "the TLS handshake for an unknown name should be refused"


def test_invalid_config_is_refused_and_the_old_one_keeps_serving(host):
    site = "/etc/nginx/sites-available/shop.test.conf"
    before = host.file(site).sha256sum
    master = host.check_output("systemctl show -p MainPID --value nginx")
    rc, out = run_converge(host, CONVERGE, sample_extra_server_config="this_is_not_a_directive on;")
    assert rc != 0 and "nginx rejected the new configuration" in " ".join(out.split()), out[-3000:]
    assert host.file(site).sha256sum == before
    assert host.run("nginx -t").rc == 0
    assert host.check_output("systemctl show -p MainPID --value nginx") == master
    assert curl(host, "https://shop.test/api/health")[0] == 200


def test_no_failed_units(host):
    assert host.run("systemctl --failed --no-legend --plain").stdout.strip() == ""


def test_stub_status_answers_on_loopback_only(host):
    """The counters the monitoring agent's nginx exporter reads: 127.0.0.1:8081 only."""
    out = host.check_output("curl -sS --max-time 5 http://127.0.0.1:8081/stub_status")
    assert out.startswith("Active connections:"), out
    assert "requests" in out
    listening = host.check_output("ss -Hltn").split()
    assert "127.0.0.1:8081" in listening
    assert not any(a.endswith(":8081") and not a.startswith("127.0.0.1") for a in listening), listening
