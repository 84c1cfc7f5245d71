"""The redis role's server, asked through redis-cli and ss on the host: the password is enforced,
dangerous commands are gone, the live configuration is right, data survives a restart and a
kill -9, and nothing listens beyond loopback and the private address."""
import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from helpers import run_converge  # noqa: E402

CONVERGE = Path(__file__).resolve().parent.parent / "converge.yml"


@pytest.fixture(scope="module")
def conf(host):
    """The scenario's variables, plus the names of the flavour's server, CLI and config folder."""
    conf = dict(host.ansible.get_variables())
    flavour = conf.get("redis_flavour", "redis")
    conf.update(flavour=flavour, service=f"{flavour}-server", cli=f"{flavour}-cli", etc=f"/etc/{flavour}")
    return conf


# The scenario's server has a private address, so redis_tls is on: TLS only, verified with the CA.
TLS = "--tls --cacert /etc/prodready/tls/ca.crt "


def cli(host, conf, *args, user=None, password=None):
    """redis-cli's reply as text. The password goes in REDISCLI_AUTH (never on redis-cli's command
    line), and only the reply is returned, so no assertion message can show the command."""
    secret = password or conf["redis_requirepass"]
    who = f"--user {user} " if user else ""
    env = f"REDISCLI_AUTH='{secret}' VALKEYCLI_AUTH='{secret}'"
    reply = host.run(f"{env} {conf['cli']} -h 127.0.0.1 {TLS}{who}--no-auth-warning {' '.join(args)}")
    return (reply.stdout + reply.stderr).strip()


def config_get(host, conf, name):
    out = cli(host, conf, conf["redis_config_command"], "GET", name).split()
    assert out and out[0] == name, f"CONFIG GET {name} via the renamed command gave {out!r}"
    return " ".join(out[1:])


def test_clients_without_the_password_get_noauth(host, conf):
    reply = host.run(f"{conf['cli']} -h 127.0.0.1 {TLS}PING")
    assert "NOAUTH" in reply.stdout + reply.stderr


def test_only_tls_clients_that_verify_the_server_get_an_answer(host, conf):
    """redis_tls: no plain port, and the certificate is the internal CA's, for the private address
    too (a client that trusts only the public CAs refuses it)."""
    private = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    env = f"REDISCLI_AUTH='{conf['redis_requirepass']}' VALKEYCLI_AUTH='{conf['redis_requirepass']}'"
    plain = host.run(f"{env} {conf['cli']} -h 127.0.0.1 --no-auth-warning PING")
    assert "PONG" not in plain.stdout, plain.stdout
    public_only = host.run(f"{env} {conf['cli']} -h {private} --tls --no-auth-warning PING")
    assert "PONG" not in public_only.stdout and "certificate" in public_only.stderr.lower(), public_only.stderr
    assert host.run(f"{env} {conf['cli']} -h {private} {TLS}--no-auth-warning PING").stdout.strip() == "PONG"
    key = host.file(f"/etc/prodready/tls/{conf['service']}.key")
    assert (key.user, key.group, key.mode) == ("root", conf["flavour"], 0o640)


def test_the_password_works(host, conf):
    assert cli(host, conf, "PING")== "PONG"


@pytest.mark.parametrize("command", ["FLUSHALL", "FLUSHDB", "KEYS '*'", "CONFIG GET maxmemory"])
def test_dangerous_commands_are_gone_under_their_names(host, conf, command):
    assert "unknown command" in cli(host, conf, command)


def test_live_configuration_through_the_renamed_config(host, conf):
    assert config_get(host, conf, "appendonly") == "yes"
    assert config_get(host, conf, "appendfsync") == "everysec"
    assert config_get(host, conf, "maxmemory") == str(expected_maxmemory(host, conf))
    assert config_get(host, conf, "maxmemory-policy") == "allkeys-lru"
    assert config_get(host, conf, "save") == "900 1 300 10 60 10000"
    assert config_get(host, conf, "protected-mode") == "yes"
    assert config_get(host, conf, "timeout") == "300"


def expected_maxmemory(host, conf):
    """256mb where the scenario says so; with auto, 50 % of RAM (a host in no db/app group)."""
    if conf["redis_maxmemory"] == "auto":
        memtotal_mb = host.ansible("setup", "filter=ansible_memtotal_mb")["ansible_facts"]["ansible_memtotal_mb"]
        return int(memtotal_mb * 50 / 100) * 1024 * 1024
    assert conf["redis_maxmemory"] == "256mb"
    return 256 * 1024 * 1024


def _wait_for_pong(host, conf, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cli(host, conf, "PING")== "PONG":
            return
        time.sleep(0.5)
    raise AssertionError("redis did not answer again")


def test_data_survives_a_restart(host, conf):
    assert cli(host, conf, "SET", "app:restart", "kept-1")== "OK"
    host.run_expect([0], f"systemctl restart {conf['service']}")
    _wait_for_pong(host, conf)
    assert cli(host, conf, "GET", "app:restart")== "kept-1"


def test_data_survives_kill_9(host, conf):
    assert cli(host, conf, "SET", "app:crash", "kept-2")== "OK"
    time.sleep(2)     # appendfsync everysec: on disk within a second
    pid = host.check_output(f"systemctl show -p MainPID --value {conf['service']}")
    host.run_expect([0], f"kill -9 {pid}")
    time.sleep(1)
    _wait_for_pong(host, conf)     # Debian's unit restarts it (Restart=always)
    assert host.check_output(f"systemctl show -p MainPID --value {conf['service']}") != pid
    assert cli(host, conf, "GET", "app:crash")== "kept-2"


def test_listens_on_loopback_and_the_private_address_only(host):
    private = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    listening = {line.split()[3] for line in host.check_output("ss -Hltn 'sport = :6379'").splitlines()}
    assert listening == {"127.0.0.1:6379", f"{private}:6379"}


def test_acl_app_user_is_limited_to_its_keys_and_safe_commands(host, conf):
    app = conf["redis_acl_users"][0]
    assert cli(host, conf, "SET", "app:acl", "1", user="app", password=app["password"])== "OK"
    assert "NOPERM" in cli(host, conf, "SET", "billing:acl", "1", user="app", password=app["password"])
    # CLIENT LIST is in @dangerous (and harmless if the ACL failed to hold).
    assert "NOPERM" in cli(host, conf, "CLIENT", "LIST", user="app", password=app["password"])
    # The operator (default user) may.
    assert "addr=" in cli(host, conf, "CLIENT", "LIST")


def test_secrets_file_is_not_world_readable(host, conf):
    auth = host.file(f"{conf['etc']}/auth.conf")
    assert auth.mode & 0o007 == 0
    assert auth.user == "root" and auth.group == conf["flavour"]
    # The server itself could read it: it runs, as its own user, with the password it holds.
    assert host.process.filter(user=conf["flavour"], comm=conf["service"])


def test_overcommit_is_persisted_for_boot(host):
    assert "vm.overcommit_memory=1" in host.check_output("systemd-analyze cat-config sysctl.d").splitlines()


def test_no_failed_units(host):
    assert host.check_output("systemctl --failed --no-legend") == ""


def test_live_drift_is_seen_by_check_mode_and_undone(host, conf):
    """A hand-made CONFIG SET, invisible in the files, is what the scheduled --check must report."""
    alias = conf["redis_config_command"]
    assert cli(host, conf, alias, "SET", "maxmemory-policy", "noeviction") == "OK"
    # No plain port with redis_tls: the module talks to the socket, as the role does.
    args = json.dumps({"login_password": conf["redis_requirepass"], "config_command": alias, "persist": False,
                       "login_unix_socket": f"/run/{conf['flavour']}/{conf['service']}.sock",
                       "settings": {"maxmemory-policy": "allkeys-lru"}})
    seen = host.ansible("prodready.vps.redis_config", args, check=True)
    assert seen["changed"] is True
    assert seen["changes"] == {"maxmemory-policy": {"before": "noeviction", "after": "allkeys-lru"}}
    assert config_get(host, conf, "maxmemory-policy") == "noeviction"     # check mode changed nothing
    fixed = host.ansible("prodready.vps.redis_config", args, check=False)
    assert fixed["changed"] is True
    assert config_get(host, conf, "maxmemory-policy") == "allkeys-lru"


def test_a_configuration_the_server_refuses_never_reaches_it(host, conf):
    """An ACL rule Redis does not know passes the role's own checks; the throw-away server refuses
    it, the previous files come back and the running server is not restarted."""
    auth = f"{conf['etc']}/auth.conf"
    before = host.file(auth).sha256sum
    pid = host.check_output(f"systemctl show -p MainPID --value {conf['service']}")
    users = [dict(user, commands=user["commands"] + " +@notacategory") for user in conf["redis_acl_users"]]
    rc, out = run_converge(host, CONVERGE, redis_acl_users=users)
    text = " ".join(out.split())
    assert rc != 0 and f"{conf['flavour'].capitalize()} rejected the new configuration" in text, out[-3000:]
    assert "notacategory" in text, "the server's own error is in the message"
    assert conf["redis_requirepass"] not in out and conf["redis_config_command"] not in out
    assert host.file(auth).sha256sum == before
    assert host.check_output(f"systemctl show -p MainPID --value {conf['service']}") == pid
    assert host.check_output(f"ls -A {conf['etc']}") == host.check_output(f"ls -A {conf['etc']} | grep -v '~$'")
    assert cli(host, conf, "PING") == "PONG"
