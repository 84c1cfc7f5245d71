"""prodready.vps.mysql_accounts against a real MariaDB: planted accounts are found, reported in
check mode, refused by name in a normal run, and dropped only when asked."""
import pytest

from servers import MYSQL_PASSWORD, run_module

DECLARED = ["tester@127.0.0.1", "app@10.0.0.5"]


def accounts(mariadb):
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT CONCAT(User, '@', Host) FROM mysql.user")
        return {row[0] for row in cur.fetchall()}


@pytest.fixture
def planted(mariadb):
    """What an intruder or a hurried operator leaves: a login from anywhere, a local login with a
    global right, a harmless local login, and the declared app account."""
    statements = [
        "CREATE USER 'intruder'@'%' IDENTIFIED BY 'x'",
        "CREATE USER 'o''hara'@'localhost' IDENTIFIED BY 'x'",
        "GRANT PROCESS, SUPER ON *.* TO 'o''hara'@'localhost'",
        "CREATE USER 'harmless'@'localhost' IDENTIFIED BY 'x'",
        "CREATE USER 'app'@'10.0.0.5' IDENTIFIED BY 'x'",
    ]
    with mariadb.admin() as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    yield
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute("DROP USER IF EXISTS 'intruder'@'%', 'o''hara'@'localhost', 'harmless'@'localhost', "
                    "'app'@'10.0.0.5'")


def run(mariadb, check=False, **args):
    result, raw = run_module("mysql_accounts", {**mariadb.login, "declared": DECLARED, **args}, check=check)
    assert MYSQL_PASSWORD not in raw
    return result


def test_check_mode_names_each_account_as_drift_and_drops_nothing(mariadb, planted):
    result = run(mariadb, check=True)
    assert result["changed"] is False and result["drift"] is True
    assert [f["what"] for f in result["findings"]] == ["account intruder@%", "account o'hara@localhost"]
    assert result["findings"][0] == {"kind": "added", "what": "account intruder@%",
                                     "before": "can log in from any host", "after": "absent"}
    assert "SUPER" in result["findings"][1]["before"]
    assert {"intruder@%", "o'hara@localhost"} <= accounts(mariadb)


def test_a_normal_run_without_remove_fails_naming_them(mariadb, planted):
    result = run(mariadb)
    assert result.get("failed") is True
    assert "intruder@%" in result["msg"] and "o'hara@localhost" in result["msg"]
    assert "mysql_remove_unmanaged_accounts" in result["msg"]
    assert "intruder@%" in accounts(mariadb)


def test_remove_drops_them_and_leaves_the_rest(mariadb, planted):
    check = run(mariadb, check=True, remove=True)
    assert check["changed"] is True and "intruder@%" in accounts(mariadb)
    result = run(mariadb, remove=True)
    assert result["changed"] is True
    assert result["queries"] == ["DROP USER 'intruder'@'%'", "DROP USER 'o''hara'@'localhost'"]
    left = accounts(mariadb)
    assert "intruder@%" not in left and "o'hara@localhost" not in left
    assert {"harmless@localhost", "app@10.0.0.5", "tester@127.0.0.1", "root@localhost"} <= left
    again = run(mariadb, remove=True)
    assert again["changed"] is False and again["findings"] == [] and again["drift"] is False
