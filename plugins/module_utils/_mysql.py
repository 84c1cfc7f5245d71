# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection and index definitions for the MySQL/MariaDB modules (PyMySQL)."""

from __future__ import annotations

import os
import re
import traceback

from ansible_collections.prodready.vps.plugins.module_utils._connection import where  # noqa: F401 (re-exported)

try:
    import pymysql
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError:
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()

# Server error codes the modules explain.
ER_ACCESS_DENIED = 1045
ER_ALTER_OPERATION_NOT_SUPPORTED = (1845, 1846)
CR_GONE = (2002, 2003, 2006, 2013)

_COLUMN = re.compile(r"^\s*`?([A-Za-z0-9_$]+)`?\s*(?:\(\s*(\d+)\s*\))?\s*(?:\s(ASC|DESC))?\s*$", re.IGNORECASE)


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


def quote(identifier):
    """An identifier between backticks, a backtick inside doubled: a name can never end the quote."""
    return "`%s`" % str(identifier).replace("`", "``")


def parse_columns(columns):
    """['user_id', 'email(20)', 'created_at DESC'] -> [('user_id', None, False), ('email', 20, False),
    ('created_at', None, True)]; names lowercased, since MySQL column names are case-insensitive."""
    parsed = []
    for column in columns:
        match = _COLUMN.match(str(column))
        if not match:
            raise MySQLModuleError("column '%s' is not a column name with an optional prefix length and order, "
                                   "like user_id, email(20) or created_at DESC" % column)
        parsed.append((match.group(1).lower(), int(match.group(2)) if match.group(2) else None,
                       (match.group(3) or "").upper() == "DESC"))
    return parsed


def _part(column, prefix, desc):
    return column + ("(%d)" % prefix if prefix is not None else "") + (" DESC" if desc else "")


def definition(columns, unique):
    """An index definition that compares equal exactly when two indexes are the same (a plain,
    visible B-tree index; read_indexes adds the type and visibility of others)."""
    return {"columns": [_part(*c) for c in columns], "unique": bool(unique)}


def column_sql(columns):
    return ", ".join(quote(c) + ("(%d)" % n if n is not None else "") + (" DESC" if d else "") for c, n, d in columns)


def read_indexes(cursor, database, table):
    """{index name (lower case): definition} of a table, from information_schema (the PRIMARY key
    included). Order (DESC), a functional part (an expression, MySQL 8), the type when not B-tree
    (FULLTEXT, SPATIAL, HASH) and an ignored or invisible index are part of the definition."""
    cursor.execute("SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                   "ORDER BY INDEX_NAME, SEQ_IN_INDEX", (database, table))
    names = [d[0].upper() for d in cursor.description]
    found = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        entry = found.setdefault(str(row["INDEX_NAME"]).lower(), {"columns": [], "unique": not int(row["NON_UNIQUE"])})
        column = row.get("COLUMN_NAME")
        if column is None:
            part = "(%s)" % row.get("EXPRESSION", "expression")
        else:
            part = _part(column.lower(), int(row["SUB_PART"]) if row.get("SUB_PART") is not None else None,
                         row.get("COLLATION") == "D")
        entry["columns"].append(part)
        if (row.get("INDEX_TYPE") or "BTREE") != "BTREE":
            entry["type"] = row["INDEX_TYPE"]
        if row.get("IGNORED") == "YES" or row.get("IS_VISIBLE") == "NO":
            entry["ignored"] = True
    return found


def table_columns(cursor, database, table):
    """Lowercased column names of a table; an empty list when the table does not exist."""
    cursor.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                   (database, table))
    return [row[0].lower() for row in cursor.fetchall()]


# --- live settings (mysql_settings) -----------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_SIZE = re.compile(r"^(\d+)\s*([KMGT])B?$", re.IGNORECASE)
_BOOLEAN = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False}


def check_name(name):
    """A variable name is put into SET GLOBAL as it is: only plain identifiers pass."""
    if not _NAME.match(str(name)):
        raise MySQLModuleError("'%s' is not a server variable name (letters, digits and _ only)" % name)
    return str(name).lower()


def to_sql(value):
    """The value as SET GLOBAL takes it: numbers and sizes as numbers (a quoted number is a type
    error for integer variables), booleans as ON/OFF, anything else as a string."""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    size = _SIZE.match(text)
    if size:
        return int(size.group(1)) * 1024 ** "KMGT".index(size.group(2).upper()) * 1024
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def same_setting(live, desired):
    """Whether a SHOW GLOBAL VARIABLES value equals a desired one: ON/1/true alike for the
    server's booleans, 2 and 2.000000 alike, 64M and 67108864 alike, case ignored but in paths."""
    if live is None:
        return desired is None
    want = to_sql(desired)
    live_text = str(live).strip()
    if live_text.lower() in ("on", "off") and (isinstance(desired, (bool, int)) or str(want).lower() in _BOOLEAN):
        if isinstance(want, str):
            return _BOOLEAN[live_text.lower()] == _BOOLEAN[want.lower()]
        return _BOOLEAN[live_text.lower()] == bool(want)
    if isinstance(want, (int, float)) and _NUMBER.match(live_text):
        return float(live_text) == float(want)
    if "/" in live_text or "/" in str(want):
        return live_text == str(want)
    return live_text.lower() == str(want).lower()


def read_settings(cursor, names):
    """{name: value} of the global variables asked for; a name the server does not know is an
    error before anything is set."""
    cursor.execute("SHOW GLOBAL VARIABLES")
    live = {row[0].lower(): row[1] for row in cursor.fetchall()}
    unknown = sorted(n for n in names if n not in live)
    if unknown:
        raise MySQLModuleError("this server has no variable %s: check the name (SHOW GLOBAL VARIABLES lists them)"
                               % ", ".join(unknown))
    return {n: live[n] for n in names}


# --- accounts (mysql_accounts) ----------------------------------------------------------------
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Accounts the distribution's packages make and need; never reported, never dropped.
SYSTEM_ACCOUNTS = ("root@localhost", "mariadb.sys@localhost", "mysql@localhost", "mysql.sys@localhost",
                   "mysql.session@localhost", "mysql.infoschema@localhost", "debian-sys-maint@localhost")


def account_name(user, host):
    return "%s@%s" % (user, host)


def read_accounts(cursor):
    """[{account, user, host, global_privileges}] for every account on the server."""
    cursor.execute("SELECT User, Host FROM mysql.user")
    accounts = {account_name(u, h): {"account": account_name(u, h), "user": u, "host": h, "global_privileges": []}
                for u, h in cursor.fetchall()}
    cursor.execute("SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES")
    for grantee, privilege in cursor.fetchall():
        match = re.match(r"^'(.*)'@'(.*)'$", grantee)
        if match and privilege != "USAGE":
            entry = accounts.get(account_name(match.group(1), match.group(2)))
            if entry is not None:
                entry["global_privileges"].append(privilege)
    return [accounts[k] for k in sorted(accounts)]


def unmanaged_accounts(accounts, declared, system=SYSTEM_ACCOUNTS):
    """The accounts that are neither declared nor the distribution's and that can log in from
    another host or hold a global privilege: each with the reason, in name order."""
    keep = {a.lower() for a in list(declared) + list(system)}
    found = []
    for entry in accounts:
        if entry["account"].lower() in keep:
            continue
        reasons = []
        if entry["host"].lower() not in LOCAL_HOSTS:
            reasons.append("can log in from %s" % ("any host" if entry["host"] in ("", "%") else entry["host"]))
        if entry["global_privileges"]:
            reasons.append("holds global privileges %s" % ", ".join(sorted(entry["global_privileges"])))
        if entry["user"] == "":
            reasons.append("anonymous")
        if reasons:
            found.append(dict(entry, reasons=reasons))
    return found


def quote_account(user, host):
    """'user'@'host' with quotes doubled, for DROP USER (names cannot be bound as parameters)."""
    return "'%s'@'%s'" % (user.replace("\\", "\\\\").replace("'", "''"), host.replace("\\", "\\\\").replace("'", "''"))
