"""The module tests run each module as its own process, as Ansible runs it on a host (servers.run_module).
Here each module runs once more through the `ansible` command line, in check mode with a diff: the
result is the one the direct run gives, and what the controller prints shows no secret."""
import uuid

from servers import MYSQL_PASSWORD, PASSWORD, run_module

# What Ansible adds to a module's result on the controller; the rest must be the module's own.
ADDED = {"action", "invocation", "_ansible_no_log", "warnings", "deprecations"}


def both_ways(name, args, secret):
    direct, _ = run_module(name, args, check=True, diff=True)
    through, raw = run_module(name, args, check=True, diff=True, through_ansible=True)
    assert secret not in raw, "a secret appears in what ansible prints"
    assert {k: v for k, v in through.items() if k not in ADDED} == \
        {k: v for k, v in direct.items() if k not in ADDED}
    assert through.get("warnings", []) == direct.get("warnings", [])
    return through


def test_redis_config(redis_server):
    srv = redis_server()
    result = both_ways("redis_config", {**srv.login, "settings": {"maxmemory-policy": "allkeys-lru"}}, PASSWORD)
    assert result["changed"] is True
    assert srv.live("maxmemory-policy") == "noeviction"


def test_mysql_settings(mariadb):
    result = both_ways("mysql_settings", {**mariadb.login, "settings": {"max_connections": 4321}}, MYSQL_PASSWORD)
    assert result["changed"] is True


def test_mysql_accounts(mariadb):
    result = both_ways("mysql_accounts", {**mariadb.login, "declared": ["tester@127.0.0.1"]}, MYSQL_PASSWORD)
    assert "changed" in result


def test_mysql_index(mariadb):
    name = "t_" + uuid.uuid4().hex[:10]
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.orders (id INT PRIMARY KEY, user_id INT NOT NULL) ENGINE=InnoDB")
    try:
        result = both_ways("mysql_index", {**mariadb.login, "database": name, "table": "orders",
                                           "name": "idx_user", "columns": ["user_id"]}, MYSQL_PASSWORD)
        assert result["changed"] is True
    finally:
        with mariadb.admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")
