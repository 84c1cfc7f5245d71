"""How mysql_index reads and writes index definitions (the parts a MariaDB here cannot show)."""
import pytest

from ansible_collections.prodready.vps.plugins.module_utils import _mysql as m


class Cursor:
    """information_schema.STATISTICS rows as MySQL 8 returns them (a functional key part has no
    COLUMN_NAME, only an EXPRESSION)."""
    description = [(n,) for n in ("INDEX_NAME", "NON_UNIQUE", "COLUMN_NAME", "SUB_PART", "COLLATION",
                                  "INDEX_TYPE", "IS_VISIBLE", "EXPRESSION")]

    def execute(self, *_args):
        pass

    def fetchall(self):
        return [("idx_Fn", 1, None, None, "A", "BTREE", "YES", "lower(`email`)"),
                ("idx_fn", 1, "created_at", None, "D", "BTREE", "YES", None),
                ("idx_hidden", 1, "user_id", None, "A", "BTREE", "NO", None)]


def test_functional_parts_order_and_visibility_are_read_without_a_crash():
    found = m.read_indexes(Cursor(), "app", "orders")
    assert found["idx_fn"] == {"columns": ["(lower(`email`))", "created_at DESC"], "unique": False}
    assert found["idx_hidden"] == {"columns": ["user_id"], "unique": False, "ignored": True}


def test_columns_take_a_prefix_and_an_order_and_quote_safely():
    cols = m.parse_columns(["user_id", "email(20)", "created_at desc"])
    assert cols == [("user_id", None, False), ("email", 20, False), ("created_at", None, True)]
    assert m.column_sql(cols) == "`user_id`, `email`(20), `created_at` DESC"
    assert m.quote("a`b") == "`a``b`"
    with pytest.raises(m.MySQLModuleError, match="not a column name"):
        m.parse_columns(["user_id); DROP TABLE x; --"])
