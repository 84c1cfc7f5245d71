"""prodready.vps.mysql_settings against a real MariaDB: every result is checked with a separate
connection (SELECT @@GLOBAL.x), and each test puts the variables it touched back."""
import re

import pytest

from servers import MYSQL_PASSWORD, run_module


def live(mariadb, name):
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT @@GLOBAL.{name}")
        return str(cur.fetchone()[0])


@pytest.fixture
def restore(mariadb):
    """Puts back the variables the tests change, for the tests that share the server."""
    names = ("max_connections", "slow_query_log", "long_query_time", "max_allowed_packet", "collation_server")
    saved = {n: live(mariadb, n) for n in names}
    yield
    with mariadb.admin() as conn, conn.cursor() as cur:
        for name, value in saved.items():
            number = re.fullmatch(r"\d+(\.\d+)?", value)
            cur.execute(f"SET GLOBAL {name} = %s", ((float(value) if "." in value else int(value)) if number else value,))


def run(mariadb, settings, check=False, diff=False):
    result, raw = run_module("mysql_settings", {**mariadb.login, "settings": settings}, check=check, diff=diff)
    assert MYSQL_PASSWORD not in raw, "the password appears in the module's output"
    return result


def test_sets_what_differs_then_changes_nothing(mariadb, restore):
    first = run(mariadb, {"max_connections": 321, "slow_query_log": True, "collation_server": "utf8mb4_unicode_ci"})
    assert first["changed"] is True and "max_connections" in first["changes"]
    assert live(mariadb, "max_connections") == "321"
    assert live(mariadb, "slow_query_log") == "1"
    assert live(mariadb, "collation_server") == "utf8mb4_unicode_ci"
    again = run(mariadb, {"max_connections": "321", "slow_query_log": "ON", "collation_server": "UTF8MB4_UNICODE_CI"})
    assert again["changed"] is False and again["changes"] == {} and again["queries"] == []


def test_check_mode_reports_with_a_diff_and_sets_nothing(mariadb, restore):
    before = live(mariadb, "max_connections")
    result = run(mariadb, {"max_connections": 77}, check=True, diff=True)
    assert result["changed"] is True
    assert result["changes"] == {"max_connections": {"before": before, "after": 77}}
    assert result["diff"] == {"before": {"max_connections": before}, "after": {"max_connections": 77}}
    assert result["queries"] == ["SET GLOBAL max_connections = 77"]
    assert live(mariadb, "max_connections") == before


def test_values_are_compared_as_the_server_means_them(mariadb, restore):
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL long_query_time = 2")
        cur.execute("SET GLOBAL max_allowed_packet = 67108864")
        cur.execute("SET GLOBAL slow_query_log = OFF")
    # 2 is 2.000000; 64M is 67108864 bytes; false is OFF.
    result = run(mariadb, {"long_query_time": 2, "max_allowed_packet": "64M", "slow_query_log": False}, check=True)
    assert result["changed"] is False, result["changes"]


def test_an_unknown_variable_fails_before_anything_is_set(mariadb, restore):
    before = live(mariadb, "max_connections")
    result = run(mariadb, {"max_connections": 55, "max_connectoins": 10})
    assert result.get("failed") is True
    assert "no variable max_connectoins" in result["msg"]
    assert live(mariadb, "max_connections") == before


def test_a_name_that_is_not_an_identifier_is_refused(mariadb):
    result = run(mariadb, {"max_connections = 1; DROP DATABASE mysql; --": 1})
    assert result.get("failed") is True and "not a server variable name" in result["msg"]


def test_a_start_only_variable_says_to_use_the_config_file(mariadb):
    result = run(mariadb, {"innodb_page_size": 8192})
    assert result.get("failed") is True
    assert "read-only at run time" in result["msg"] and "config file" in result["msg"]


def test_a_value_the_server_adjusts_fails_instead_of_changing_every_run(mariadb, restore):
    result = run(mariadb, {"max_connections": 10000000})
    assert result.get("failed") is True
    assert "adjusted max_connections to 100000" in result["msg"], result["msg"]
