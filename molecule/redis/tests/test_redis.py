"""The redis role's server, asked through redis-cli and ss on the host: the password is enforced,
dangerous commands are gone, the live configuration is right, data survives a restart and a
kill -9, and nothing listens beyond loopback and the private address."""
import time

import pytest


@pytest.fixture(scope="module")
def conf(host):
    return host.ansible.get_variables()


def cli(host, conf, *args, user=None, password=None):
    """redis-cli's reply as text. The password goes in REDISCLI_AUTH (never on redis-cli's command
    line), and only the reply is returned, so no assertion message can show the command."""
    secret = password or conf["redis_requirepass"]
    who = f"--user {user} " if user else ""
    reply = host.run(f"REDISCLI_AUTH='{secret}' redis-cli -h 127.0.0.1 {who}--no-auth-warning {' '.join(args)}")
    return (reply.stdout + reply.stderr).strip()


def config_get(host, conf, name):
    out = cli(host, conf, conf["redis_config_command"], "GET", name).split()
    assert out and out[0] == name, f"CONFIG GET {name} via the renamed command gave {out!r}"
    return " ".join(out[1:])


def test_clients_without_the_password_get_noauth(host):
    reply = host.run("redis-cli -h 127.0.0.1 PING")
    assert "NOAUTH" in reply.stdout + reply.stderr


def test_the_password_works(host, conf):
    assert cli(host, conf, "PING")== "PONG"


@pytest.mark.parametrize("command", ["FLUSHALL", "FLUSHDB", "KEYS '*'", "CONFIG GET maxmemory"])
def test_dangerous_commands_are_gone_under_their_names(host, conf, command):
    assert "unknown command" in cli(host, conf, command)


def test_live_configuration_through_the_renamed_config(host, conf):
    assert config_get(host, conf, "appendonly") == "yes"
    assert config_get(host, conf, "appendfsync") == "everysec"
    assert config_get(host, conf, "maxmemory") == str(256 * 1024 * 1024)
    assert config_get(host, conf, "maxmemory-policy") == "allkeys-lru"
    assert config_get(host, conf, "save") == "900 1 300 10 60 10000"
    assert config_get(host, conf, "protected-mode") == "yes"
    assert config_get(host, conf, "timeout") == "300"


def _wait_for_pong(host, conf, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cli(host, conf, "PING")== "PONG":
            return
        time.sleep(0.5)
    raise AssertionError("redis did not answer again")


def test_data_survives_a_restart(host, conf):
    assert cli(host, conf, "SET", "app:restart", "kept-1")== "OK"
    host.run_expect([0], "systemctl restart redis-server")
    _wait_for_pong(host, conf)
    assert cli(host, conf, "GET", "app:restart")== "kept-1"


def test_data_survives_kill_9(host, conf):
    assert cli(host, conf, "SET", "app:crash", "kept-2")== "OK"
    time.sleep(2)     # appendfsync everysec: on disk within a second
    pid = host.check_output("systemctl show -p MainPID --value redis-server")
    host.run_expect([0], f"kill -9 {pid}")
    time.sleep(1)
    _wait_for_pong(host, conf)     # Debian's unit restarts it (Restart=always)
    assert host.check_output("systemctl show -p MainPID --value redis-server") != pid
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


def test_secrets_file_is_not_world_readable(host):
    auth = host.file("/etc/redis/auth.conf")
    assert auth.mode & 0o007 == 0
    assert auth.user == "root" and auth.group == "redis"
    # The server itself could read it: it started with the password it holds.
    assert host.process.filter(user="redis", comm="redis-server")


def test_overcommit_is_persisted_for_boot(host):
    assert "vm.overcommit_memory=1" in host.check_output("systemd-analyze cat-config sysctl.d").splitlines()


def test_no_failed_units(host):
    assert host.check_output("systemctl --failed --no-legend") == ""
