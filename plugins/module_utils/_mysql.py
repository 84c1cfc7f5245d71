# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection and index definitions for the MySQL/MariaDB modules (PyMySQL)."""

from __future__ import annotations

import os
import re
import traceback

try:
    import pymysql
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError:
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()

# Server error codes the modules explain.
ER_ACCESS_DENIED = 1045
ER_DBACCESS_DENIED = 1044
ER_BAD_DB = 1049
ER_NO_SUCH_TABLE = 1146
ER_BAD_FIELD = 1072
ER_ALTER_OPERATION_NOT_SUPPORTED = (1845, 1846)
CR_GONE = (2002, 2003, 2006, 2013)

_COLUMN = re.compile(r"^\s*`?([A-Za-z0-9_$]+)`?\s*(?:\(\s*(\d+)\s*\))?\s*$")


class MySQLModuleError(Exception):
    """An error whose message names the cause and the fix, and never a secret."""


def connection_argument_spec():
    """Options every MySQL module takes (documented in doc_fragments/mysql.py)."""
    return dict(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int", default=3306),
        login_unix_socket=dict(type="path"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        config_file=dict(type="path", default="~/.my.cnf"),
        connect_timeout=dict(type="int", default=10),
    )


def where(params):
    return params.get("login_unix_socket") or "%s:%s" % (params["login_host"], params["login_port"])


def connect(params):
    """A PyMySQL connection in autocommit mode; MySQLModuleError with cause and fix otherwise.
    Credentials not given come from config_file when it exists (as the mysql client does)."""
    kwargs = dict(connect_timeout=params["connect_timeout"], autocommit=True, charset="utf8mb4")
    cnf = os.path.expanduser(params.get("config_file") or "")
    if cnf and os.path.exists(cnf):
        kwargs.update(read_default_file=cnf)
    if params.get("login_user"):
        kwargs["user"] = params["login_user"]
    if params.get("login_password") is not None:
        kwargs["password"] = params["login_password"]
    if params.get("login_unix_socket"):
        kwargs["unix_socket"] = params["login_unix_socket"]
    else:
        kwargs.update(host=params["login_host"], port=params["login_port"])
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.OperationalError as err:
        code = err.args[0] if err.args else None
        if code == ER_ACCESS_DENIED:
            raise MySQLModuleError("MySQL at %s rejected the login of user %s: check login_user and login_password "
                                   "(or config_file)" % (where(params), kwargs.get("user", "(from config_file)")))
        if code in CR_GONE:
            raise MySQLModuleError("cannot reach MySQL at %s: is the server running and listening there?"
                                   % where(params))
        raise MySQLModuleError("MySQL at %s refused the connection: %s" % (where(params), err.args[-1]))


def parse_columns(columns):
    """['user_id', 'email(20)'] -> [('user_id', None), ('email', 20)]; names lowercased, since
    MySQL column names are case-insensitive."""
    parsed = []
    for column in columns:
        match = _COLUMN.match(str(column))
        if not match:
            raise MySQLModuleError("column '%s' is not a column name with an optional prefix length, "
                                   "like user_id or email(20)" % column)
        parsed.append((match.group(1).lower(), int(match.group(2)) if match.group(2) else None))
    return parsed


def definition(columns, unique):
    """An index definition that compares equal exactly when two indexes are the same."""
    return {"columns": [c if n is None else "%s(%d)" % (c, n) for c, n in columns], "unique": bool(unique)}


def column_sql(columns):
    return ", ".join("`%s`" % c if n is None else "`%s`(%d)" % (c, n) for c, n in columns)


def read_indexes(cursor, database, table):
    """{index name: definition} of a table, from information_schema (the PRIMARY key included)."""
    cursor.execute(
        "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX", (database, table))
    found = {}
    for name, non_unique, column, sub_part in cursor.fetchall():
        entry = found.setdefault(name, {"columns": [], "unique": not int(non_unique)})
        entry["columns"].append(column.lower() if sub_part is None else "%s(%d)" % (column.lower(), int(sub_part)))
    return found


def table_columns(cursor, database, table):
    """Lowercased column names of a table; an empty list when the table does not exist."""
    cursor.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                   (database, table))
    return [row[0].lower() for row in cursor.fetchall()]
