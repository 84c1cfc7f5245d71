"""prodready.vps.mysql_index against a real MariaDB; every result is checked with a separate
connection (SHOW INDEX), and no run may print the test password."""
import socket
import threading
import uuid

import pytest

from servers import MYSQL_PASSWORD, free_port, run_module


@pytest.fixture
def db(mariadb):
    """A fresh database with an orders table; dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:10]
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.orders (id INT PRIMARY KEY AUTO_INCREMENT, user_id INT NOT NULL, "
                    "created_at DATETIME NOT NULL, email VARCHAR(255), status VARCHAR(20)) ENGINE=InnoDB")
    yield name
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")


def indexes(mariadb, database, table="orders"):
    """{name: (columns with prefix, unique)} as the server reports it."""
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute(f"SHOW INDEX FROM `{database}`.`{table}`")
        found = {}
        for row in cur.fetchall():
            name, non_unique, column, sub_part = row[2], row[1], row[4], row[7]
            cols, _ = found.get(name, ([], None))
            found[name] = (cols + [column if sub_part is None else f"{column}({sub_part})"], not non_unique)
        return found


def sql(mariadb, statement):
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute(statement)


def run(mariadb, db, check=False, diff=False, **args):
    params = {**mariadb.login, "database": db, "table": "orders", "name": "idx_user_created",
              "columns": ["user_id", "created_at"], **args}
    result, raw = run_module("mysql_index", params, check=check, diff=diff)
    assert MYSQL_PASSWORD not in raw, "the password appears in the module's output"
    return result


def test_creates_a_missing_index_online_then_changes_nothing(mariadb, db):
    first = run(mariadb, db)
    assert first["changed"] is True
    assert first["queries"] == [f"ALTER TABLE `{db}`.`orders` ADD INDEX `idx_user_created` (`user_id`, "
                                "`created_at`), ALGORITHM=INPLACE, LOCK=NONE"]
    assert indexes(mariadb, db)["idx_user_created"] == (["user_id", "created_at"], False)
    second = run(mariadb, db)
    assert second["changed"] is False and second["queries"] == [] and second["drift"] is False


def test_check_mode_reports_and_creates_nothing(mariadb, db):
    result = run(mariadb, db, check=True, diff=True)
    assert result["changed"] is True
    assert result["diff"] == {"before": {}, "after": {"columns": ["user_id", "created_at"], "unique": False}}
    assert "idx_user_created" not in indexes(mariadb, db)


def test_wrong_definition_is_drift_and_left_alone_without_rebuild(mariadb, db):
    sql(mariadb, f"ALTER TABLE `{db}`.orders ADD INDEX idx_user_created (created_at, user_id)")
    result = run(mariadb, db)
    assert result["changed"] is False
    assert result["drift"] is True
    assert result["before"] == {"columns": ["created_at", "user_id"], "unique": False}
    assert any("set rebuild=true" in w for w in result.get("warnings", []))
    assert indexes(mariadb, db)["idx_user_created"] == (["created_at", "user_id"], False)


def test_rebuild_fixes_the_definition_in_one_statement(mariadb, db):
    sql(mariadb, f"ALTER TABLE `{db}`.orders ADD INDEX idx_user_created (created_at, user_id)")
    checked = run(mariadb, db, rebuild=True, check=True)
    assert checked["changed"] is True
    assert indexes(mariadb, db)["idx_user_created"] == (["created_at", "user_id"], False)
    result = run(mariadb, db, rebuild=True)
    assert result["changed"] is True
    assert result["queries"][0].startswith(f"ALTER TABLE `{db}`.`orders` DROP INDEX `idx_user_created`, ADD INDEX")
    assert indexes(mariadb, db)["idx_user_created"] == (["user_id", "created_at"], False)


def test_uniqueness_and_prefix_length_are_part_of_the_definition(mariadb, db):
    sql(mariadb, f"ALTER TABLE `{db}`.orders ADD INDEX uq_email (email(20))")
    wrong_unique = run(mariadb, db, name="uq_email", columns=["email(20)"], unique=True)
    assert wrong_unique["drift"] is True
    wrong_prefix = run(mariadb, db, name="uq_email", columns=["email(30)"], unique=False)
    assert wrong_prefix["drift"] is True
    fixed = run(mariadb, db, name="uq_email", columns=["EMAIL(30)"], unique=True, rebuild=True)
    assert fixed["changed"] is True
    assert indexes(mariadb, db)["uq_email"] == (["email(30)"], True)
    assert run(mariadb, db, name="uq_email", columns=["Email(30)"], unique=True)["changed"] is False


def test_same_definition_under_another_name_counts_as_present(mariadb, db):
    sql(mariadb, f"ALTER TABLE `{db}`.orders ADD INDEX legacy_name (user_id, created_at)")
    result = run(mariadb, db)
    assert result["changed"] is False
    assert "idx_user_created" not in indexes(mariadb, db)


def test_absent_drops_and_check_mode_keeps(mariadb, db):
    sql(mariadb, f"ALTER TABLE `{db}`.orders ADD INDEX idx_old (status)")
    checked = run(mariadb, db, name="idx_old", state="absent", columns=None, check=True)
    assert checked["changed"] is True and "idx_old" in indexes(mariadb, db)
    dropped = run(mariadb, db, name="idx_old", state="absent", columns=None)
    assert dropped["changed"] is True and "idx_old" not in indexes(mariadb, db)
    again = run(mariadb, db, name="idx_old", state="absent", columns=None)
    assert again["changed"] is False


@pytest.mark.parametrize("mode", ["warn", "skip"])
def test_missing_table_can_warn_or_skip(mariadb, db, mode):
    result = run(mariadb, db, table="not_migrated_yet", missing_table=mode)
    assert result.get("failed") is not True
    assert result["changed"] is False and result["table_exists"] is False
    warned = any("does not exist" in w for w in result.get("warnings", []))
    assert warned is (mode == "warn")


def test_missing_table_fails_by_default_saying_what_to_do(mariadb, db):
    result = run(mariadb, db, table="not_migrated_yet")
    assert result.get("failed") is True
    assert "does not exist (yet): run the app's migrations first" in result["msg"]


def test_unknown_column_is_a_clear_error(mariadb, db):
    result = run(mariadb, db, columns=["user_id", "created"])
    assert result.get("failed") is True
    assert f"table {db}.orders has no column created" in result["msg"]


def test_bad_credentials_are_a_clear_error(mariadb, db):
    result = run(mariadb, db, login_password="prtestsecret-wrong-0000")
    assert result.get("failed") is True
    assert "rejected the login of user tester" in result["msg"]
    assert "prtestsecret-wrong-0000" not in str(result)


def test_unreachable_server_is_a_clear_error(mariadb, db):
    result = run(mariadb, db, login_port=free_port())
    assert result.get("failed") is True
    assert "cannot reach MySQL at 127.0.0.1:" in result["msg"]


def test_root_by_unix_socket_needs_no_password(mariadb, db):
    result, _ = run_module("mysql_index", {"login_unix_socket": mariadb.sock, "login_user": "root",
                                           "config_file": "/nonexistent", "database": db, "table": "orders",
                                           "name": "idx_status", "columns": ["status"]})
    assert result["changed"] is True
    assert indexes(mariadb, db)["idx_status"] == (["status"], False)


def test_server_gone_away_is_a_clear_error(mariadb, db):
    """A server that accepts the connection and drops it (a crash, a proxy, wait_timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def drop_once():
        conn, _addr = listener.accept()
        conn.close()

    thread = threading.Thread(target=drop_once, daemon=True)
    thread.start()
    result = run(mariadb, db, login_port=listener.getsockname()[1])
    listener.close()
    assert result.get("failed") is True
    assert "MySQL at 127.0.0.1:" in result["msg"]
    assert "Traceback" not in result.get("module_stderr", "")


def test_a_backtick_in_a_name_cannot_end_the_quote(mariadb, db):
    name = "idx`; DROP TABLE orders; --"
    result = run(mariadb, db, name=name, columns=["user_id"])
    assert result["changed"] is True, result.get("msg")
    assert indexes(mariadb, db)[name] == (["user_id"], False)
    assert run(mariadb, db, name=name, columns=["user_id"])["changed"] is False


def test_descending_parts_are_asked_for_and_compared(mariadb, db):
    sql(mariadb, f"CREATE INDEX idx_user_created ON `{db}`.orders (user_id, created_at)")
    result = run(mariadb, db, columns=["user_id", "created_at DESC"])
    assert result["changed"] is False and result["drift"] is True
    assert result["before"]["columns"] == ["user_id", "created_at"]
    fixed = run(mariadb, db, columns=["user_id", "created_at DESC"], rebuild=True)
    assert fixed["changed"] is True and "`created_at` DESC" in fixed["queries"][0]
    assert run(mariadb, db, columns=["user_id", "created_at desc"])["changed"] is False


def test_a_fulltext_index_of_that_name_is_not_the_plain_one(mariadb, db):
    sql(mariadb, f"CREATE FULLTEXT INDEX idx_status ON `{db}`.orders (status)")
    result = run(mariadb, db, name="idx_status", columns=["status"])
    assert result["drift"] is True and result["before"]["type"] == "FULLTEXT"


def test_index_names_compare_without_case(mariadb, db):
    sql(mariadb, f"CREATE INDEX IDX_User_Created ON `{db}`.orders (user_id, created_at)")
    result = run(mariadb, db)
    assert result["changed"] is False and result["drift"] is False


def test_an_index_the_server_cannot_build_is_a_message(mariadb, db):
    sql(mariadb, f"INSERT INTO `{db}`.orders (user_id, created_at) VALUES (7, NOW()), (7, NOW())")
    result = run(mariadb, db, name="uq_user", columns=["user_id"], unique=True)
    assert result.get("failed") is True and "refused" in result["msg"] and "Duplicate entry" in result["msg"]
    assert "Traceback" not in result.get("module_stderr", "")
