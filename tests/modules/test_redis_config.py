"""prodready.vps.redis_config against real redis-server processes; each result is checked
through a separate client, and no run may print a test secret."""
import pytest
import redis

from servers import APP_PASSWORD, CONFIG_ALIAS, OPS_PASSWORD, PASSWORD, free_port, run_module

SECRETS = (PASSWORD, OPS_PASSWORD, APP_PASSWORD, CONFIG_ALIAS)


def _run(args, **kw):
    result, raw = run_module("redis_config", args, **kw)
    for secret in SECRETS:
        assert secret not in raw, "a secret appears in the module's output"
    return result


def test_check_mode_reports_the_difference_and_changes_nothing(redis_server):
    srv = redis_server()
    result = _run({**srv.login, "settings": {"maxmemory-policy": "allkeys-lru", "maxmemory": "64mb"}},
                  check=True, diff=True)
    assert result["changed"] is True
    assert result["changes"]["maxmemory-policy"] == {"before": "noeviction", "after": "allkeys-lru"}
    assert result["diff"]["before"]["maxmemory"] == "0"
    assert srv.live("maxmemory-policy") == "noeviction"
    assert srv.live("maxmemory") == "0"


def test_applies_live_then_reports_no_change(redis_server):
    srv = redis_server()
    settings = {"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru", "appendonly": True,
                "appendfsync": "everysec", "save": ["900 1", "300 10", "60 10000"], "timeout": 300}
    original_file = srv.conf.read_text()
    first = _run({**srv.login, "settings": settings, "persist": False})
    assert first["changed"] is True
    assert srv.live("maxmemory") == str(64 * 1024 * 1024)
    assert srv.live("maxmemory-policy") == "allkeys-lru"
    assert srv.live("appendonly") == "yes"
    assert srv.live("save") == "900 1 300 10 60 10000"
    assert "CONFIG REWRITE" not in first["queries"]
    assert srv.conf.read_text() == original_file      # persist=false leaves the file alone
    second = _run({**srv.login, "settings": settings, "persist": False})
    assert second["changed"] is False
    assert second["queries"] == []


def test_persist_rewrites_the_config_file(redis_server):
    srv = redis_server()
    result = _run({**srv.login, "settings": {"maxmemory-policy": "volatile-lru"}})
    assert result["queries"] == ["CONFIG SET maxmemory-policy volatile-lru", "CONFIG REWRITE"]
    assert "maxmemory-policy volatile-lru" in srv.conf.read_text()


def test_detects_a_hand_made_config_set(redis_server):
    srv = redis_server()
    _run({**srv.login, "settings": {"maxmemory-policy": "allkeys-lru"}, "persist": False})
    srv.client.config_set("maxmemory-policy", "noeviction")      # someone's live change
    result = _run({**srv.login, "settings": {"maxmemory-policy": "allkeys-lru"}}, check=True)
    assert result["changed"] is True
    assert result["changes"] == {"maxmemory-policy": {"before": "noeviction", "after": "allkeys-lru"}}


def test_works_with_a_renamed_config_command_and_never_shows_its_name(redis_server):
    srv = redis_server(config_alias=CONFIG_ALIAS)
    result = _run({**srv.login, "settings": {"maxmemory": "32mb"}}, diff=True)
    assert result["changed"] is True
    assert srv.live("maxmemory") == str(32 * 1024 * 1024)
    assert result["queries"] == ["CONFIG SET maxmemory 32mb", "CONFIG REWRITE"]


def test_renamed_config_without_config_command_is_a_clear_error(redis_server):
    srv = redis_server(config_alias=CONFIG_ALIAS)
    login = {k: v for k, v in srv.login.items() if k != "config_command"}
    result = _run({**login, "settings": {"maxmemory": "32mb"}})
    assert result.get("failed") is True
    assert "CONFIG is renamed or disabled" in result["msg"]
    assert "config_command" in result["msg"]


def test_wrong_password_is_a_clear_error(redis_server):
    srv = redis_server()
    result = _run({**srv.login, "login_password": "prtestsecret-wrong-password-000000",
                   "settings": {"timeout": 0}})
    assert result.get("failed") is True
    assert "rejected the password" in result["msg"]


def test_missing_password_is_a_clear_error(redis_server):
    srv = redis_server()
    result = _run({"login_port": srv.port, "settings": {"timeout": 0}})
    assert result.get("failed") is True
    assert "requires a password" in result["msg"]


def test_unreachable_server_is_a_clear_error(redis_server):
    from servers import free_port
    result = _run({"login_port": free_port(), "login_password": PASSWORD, "settings": {"timeout": 0}})
    assert result.get("failed") is True
    assert "cannot reach Redis at 127.0.0.1:" in result["msg"]


def test_setting_that_needs_a_restart_says_so(redis_server):
    srv = redis_server()
    result = _run({**srv.login, "settings": {"databases": 32}})
    assert result.get("failed") is True
    assert "'databases' cannot be changed while Redis runs" in result["msg"]
    assert srv.live("databases") == "16"


def test_unknown_setting_is_a_clear_error(redis_server):
    srv = redis_server()
    result = _run({**srv.login, "settings": {"maxmemroy": "1gb"}})
    assert result.get("failed") is True
    assert "has no setting 'maxmemroy'" in result["msg"]


def test_acl_operator_user_can_enforce(redis_server):
    srv = redis_server()
    result = _run({"login_port": srv.port, "login_user": "ops", "login_password": OPS_PASSWORD,
                   "settings": {"maxmemory-policy": "allkeys-lfu"}, "persist": False})
    assert result["changed"] is True
    assert srv.live("maxmemory-policy") == "allkeys-lfu"


def test_acl_app_user_without_config_rights_is_a_clear_error(redis_server):
    srv = redis_server()
    result = _run({"login_port": srv.port, "login_user": "app", "login_password": APP_PASSWORD,
                   "settings": {"maxmemory-policy": "allkeys-lfu"}})
    assert result.get("failed") is True
    assert "may not run CONFIG" in result["msg"]
    assert srv.live("maxmemory-policy") == "noeviction"


def test_secret_settings_are_masked_and_applied(redis_server):
    srv = redis_server()
    new_password = "prtestsecret-redis-rotated-0a6c55d3e1"
    result, raw = run_module("redis_config", {**srv.login, "settings": {"requirepass": new_password},
                                              "persist": False}, diff=True)
    assert new_password not in raw and PASSWORD not in raw
    assert result["changed"] is True
    assert result["changes"]["requirepass"] == {"before": "********", "after": "********"}
    assert redis.Redis(port=srv.port, password=new_password).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=srv.port, password=PASSWORD).ping()


def test_unix_socket_connection(redis_server):
    srv = redis_server()
    result = _run({"login_unix_socket": srv.socket, "login_password": PASSWORD,
                   "settings": {"maxmemory": "2147483648"}}, check=True)
    assert result["changed"] is True
    assert result["changes"]["maxmemory"]["before"] == "0"


@pytest.mark.parametrize("desired", ["2gb", 2147483648, "2048mb"])
def test_equal_sizes_in_other_units_are_no_change(redis_server, desired):
    srv = redis_server()
    srv.client.config_set("maxmemory", "2gb")
    assert _run({**srv.login, "settings": {"maxmemory": desired}}, check=True)["changed"] is False


def test_tls_connection_verifies_the_server(redis_server):
    srv = redis_server(tls=True)
    result = _run({**srv.login, "tls": True, "ca_cert": srv.ca_cert, "settings": {"maxmemory-policy": "allkeys-lru"},
                   "persist": False})
    assert result["changed"] is True
    assert srv.live("maxmemory-policy") == "allkeys-lru"
    # Plain TCP to a TLS-only port is refused with a clear message, not a traceback.
    plain = _run({**srv.login, "settings": {"maxmemory-policy": "allkeys-lru"}})
    assert plain.get("failed") is True
    assert "Redis at 127.0.0.1:%d" % srv.port in plain["msg"]


def _acl(srv):
    return {line.split()[1]: line for line in srv.client.execute_command("ACL", "LIST")}


def test_acl_users_added_live_are_found_and_deleted_and_declared_ones_set_back(redis_server):
    import hashlib
    srv = redis_server()
    digest = hashlib.sha256(OPS_PASSWORD.encode()).hexdigest()
    declared = {"ops": f"on #{digest} ~* &* +@all",
                "app": "on #%s ~app:* resetchannels +@connection +@read +@write -@dangerous"
                       % hashlib.sha256(APP_PASSWORD.encode()).hexdigest()}
    args = {**srv.login, "settings": {}, "acl_users": declared}
    assert _run(args, check=True)["changed"] is False          # as the config file made them
    srv.client.execute_command("ACL", "SETUSER", "intruder", "on", ">prtestsecret-intruder", "~*", "+@all")
    srv.client.execute_command("ACL", "SETUSER", "app", "off")
    check = _run(args, check=True)
    assert check["changed"] is True
    assert check["findings"] == [
        {"kind": "added", "what": "ACL user intruder", "before": "present", "after": "absent"},
        {"kind": "removed", "what": "ACL user app", "before": "off", "after": "as declared"}]
    assert "intruder" in _acl(srv)
    fixed = _run(args)
    assert fixed["changed"] is True and fixed["queries"] == ["ACL DELUSER intruder", "ACL SETUSER app"]
    users = _acl(srv)
    assert "intruder" not in users and " on " in users["app"]
    assert redis.Redis(port=srv.port, username="app", password=APP_PASSWORD).ping()
    assert _run(args)["changed"] is False


def test_setting_names_are_case_insensitive(redis_server):
    srv = redis_server()
    result = _run({**srv.login, "settings": {"MaxMemory-Policy": "allkeys-lru"}})
    assert result["changed"] is True and srv.live("maxmemory-policy") == "allkeys-lru"
    assert _run({**srv.login, "settings": {"MAXMEMORY-POLICY": "allkeys-lru"}})["changed"] is False


def test_a_password_for_a_server_without_one_says_so(tmp_path):
    import shutil
    import subprocess
    import time
    port = free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                redis.Redis(port=port).ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        result = _run({"login_port": port, "login_password": PASSWORD, "settings": {"hz": 10}})
        assert result.get("failed") is True
        assert "has no password (requirepass is not set)" in result["msg"], result["msg"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
