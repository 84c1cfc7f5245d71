#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make sure an index exists on a MySQL/MariaDB table, with the right definition."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mysql_index
short_description: Make sure a MySQL or MariaDB index exists with the right definition
description:
  - Compares an index by name and by definition (column order, prefix lengths, uniqueness); an
    index with the right name on the wrong columns is drift, not a pass.
  - Creates a missing index with online DDL (C(ALGORITHM=INPLACE, LOCK=NONE)) where the server
    supports it, so the table stays writable.
  - An index whose definition differs is reported (RV(drift), a warning and the before/after
    definitions); it is rebuilt only with O(rebuild=true).
  - An index with the wanted definition under another name counts as present, so no duplicate is made.
version_added: 0.1.0
author: prodready engineers (@prodready)
options:
  database:
    description: Database (schema) the table is in.
    type: str
    required: true
  table:
    description: Table name.
    type: str
    required: true
  name:
    description: Index name.
    type: str
    required: true
  columns:
    description:
      - Columns in index order; a prefix length in parentheses, such as C(email(20)), and C(DESC)
        after a column for a descending part, such as C(created_at DESC).
      - The order, the type (a FULLTEXT or SPATIAL index of the same name differs) and an ignored or
        invisible index are compared too.
      - Required with O(state=present).
    type: list
    elements: str
  unique:
    description: A unique index.
    type: bool
    default: false
  state:
    description: Whether the index must exist.
    type: str
    choices: [present, absent]
    default: present
  rebuild:
    description: Drop and re-create, in one statement, an index whose definition differs.
    type: bool
    default: false
  missing_table:
    description:
      - What to do when the table (or the database) does not exist yet, for example before the
        app's migrations have run. V(fail) stops with an error, V(warn) reports it and changes
        nothing, V(skip) changes nothing silently.
    type: str
    choices: [fail, warn, skip]
    default: fail
  online:
    description:
      - Ask for C(ALGORITHM=INPLACE, LOCK=NONE). When the server cannot do that for this index it
        falls back to the default algorithm, with a warning.
    type: bool
    default: true
extends_documentation_fragment:
  - prodready.vps.mysql
attributes:
  check_mode:
    support: full
    description: Reports what would be created, dropped or rebuilt, and changes nothing.
  diff_mode:
    support: full
    description: Shows the index definition before and after.
"""

EXAMPLES = r"""
- name: Orders are looked up by user and date
  prodready.vps.mysql_index:
    database: app
    table: orders
    name: idx_orders_user_created
    columns: [user_id, created_at]
    missing_table: warn

- name: One account per e-mail address, on the first 191 characters
  prodready.vps.mysql_index:
    database: app
    table: users
    name: uq_users_email
    columns: ["email(191)"]
    unique: true
    rebuild: true

- name: Drop an index the app no longer uses
  prodready.vps.mysql_index:
    database: app
    table: orders
    name: idx_orders_legacy
    state: absent
"""

RETURN = r"""
before:
  description: The index's definition before the run; null when it did not exist.
  returned: always
  type: dict
  sample: {"columns": ["user_id"], "unique": false}
after:
  description: The definition after the run (or, in check mode, after a real run); null when absent.
  returned: always
  type: dict
  sample: {"columns": ["user_id", "created_at"], "unique": false}
drift:
  description: The index exists with another definition and O(rebuild) is false, so it was left as it is.
  returned: always
  type: bool
  sample: false
table_exists:
  description: Whether the table exists.
  returned: always
  type: bool
  sample: true
queries:
  description: The statements run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["ALTER TABLE `app`.`orders` ADD INDEX `idx_orders_user_created` (`user_id`, `created_at`),
            ALGORITHM=INPLACE, LOCK=NONE"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.prodready.vps.plugins.module_utils._mysql import (
    CR_GONE, ER_ALTER_OPERATION_NOT_SUPPORTED, HAS_PYMYSQL, PYMYSQL_IMPORT_ERROR, MySQLModuleError, column_sql,
    connect, connection_argument_spec, definition, parse_columns, quote, read_indexes, table_columns, where)


def plan(params, indexes, columns_present):
    """What the run does, decided once for check mode and the real run alike (apply() runs it):
    dict(before, after, wanted, drift, statement, adds). statement is the ALTER TABLE without an
    online clause, or None; adds says it builds an index (online DDL applies to that part)."""
    name = params["name"]
    before = indexes.get(name.lower())       # index names are case-insensitive
    step = dict(before=before, after=before, wanted=None, drift=False, statement=None, adds=False)
    target = "%s.%s" % (quote(params["database"]), quote(params["table"]))
    if params["state"] == "absent":
        if before:
            step.update(after=None, statement="ALTER TABLE %s DROP INDEX %s" % (target, quote(name)))
        return step
    columns = parse_columns(params["columns"])
    unknown = [column[0] for column in columns if column[0] not in columns_present]
    if unknown:
        raise MySQLModuleError("table %s.%s has no column %s: run the app's migrations or fix the index's columns"
                               % (params["database"], params["table"], ", ".join(unknown)))
    wanted = definition(columns, params["unique"])
    step["wanted"] = wanted
    if before == wanted:
        return step
    add = "ADD %sINDEX %s (%s)" % ("UNIQUE " if params["unique"] else "", quote(name), column_sql(columns))
    if before is None:
        step["after"] = wanted
        if wanted not in indexes.values():   # else present under another name
            step.update(statement="ALTER TABLE %s %s" % (target, add), adds=True)
        return step
    if not params["rebuild"]:
        step["drift"] = True
        return step
    step.update(after=wanted, statement="ALTER TABLE %s DROP INDEX %s, %s" % (target, quote(name), add), adds=True)
    return step


def apply(module, cursor, step):
    """Run the planned statement, online (ALGORITHM=INPLACE, LOCK=NONE) where it adds an index and
    the server can; in check mode only say what would run. Returns the statement run."""
    p = module.params
    online = p["online"] and step["adds"]
    query = step["statement"] + (", ALGORITHM=INPLACE, LOCK=NONE" if online else "")
    if module.check_mode:
        return query
    try:
        cursor.execute(query)
    except Exception as err:  # pylint: disable=broad-except
        code = getattr(err, "args", [None])[0]
        if code in CR_GONE:
            raise
        if not (online and code in ER_ALTER_OPERATION_NOT_SUPPORTED):
            raise MySQLModuleError("MySQL at %s refused %s: %s"
                                   % (where(p), query, err.args[-1] if err.args else err)) from err
        module.warn("%s at %s cannot build this index online (%s); built it with the default algorithm"
                    % (p["name"], where(p), err.args[-1]))
        query = step["statement"]
        cursor.execute(query)
    return query


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        database=dict(type="str", required=True), table=dict(type="str", required=True),
        name=dict(type="str", required=True), columns=dict(type="list", elements="str"),
        unique=dict(type="bool", default=False), state=dict(type="str", choices=["present", "absent"],
                                                            default="present"),
        rebuild=dict(type="bool", default=False),
        missing_table=dict(type="str", choices=["fail", "warn", "skip"], default="fail"),
        online=dict(type="bool", default=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "present", ("columns",))])
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=PYMYSQL_IMPORT_ERROR)
    p = module.params
    result = dict(changed=False, before=None, after=None, drift=False, table_exists=True, queries=[])
    try:
        conn = connect(p)
        with conn.cursor() as cursor:
            present = table_columns(cursor, p["database"], p["table"])
            if not present:
                result["table_exists"] = False
                message = "table %s.%s does not exist (yet): run the app's migrations first" % (p["database"], p["table"])
                if p["missing_table"] == "fail":
                    raise MySQLModuleError(message + ", or set missing_table to warn or skip")
                if p["missing_table"] == "warn":
                    module.warn(message)
                module.exit_json(**result)
            step = plan(p, read_indexes(cursor, p["database"], p["table"]), present)
            result.update(before=step["before"], after=step["after"], drift=step["drift"])
            if step["drift"]:
                module.warn("index %s on %s.%s is %s but should be %s: set rebuild=true to rebuild it"
                            % (p["name"], p["database"], p["table"], step["before"], step["wanted"]))
            if step["statement"]:
                result.update(changed=True, queries=[apply(module, cursor, step)])
    except MySQLModuleError as err:
        module.fail_json(msg=str(err), **result)
    except Exception as err:  # pylint: disable=broad-except
        args = getattr(err, "args", None) or [None]
        if args[0] in CR_GONE:
            module.fail_json(msg="MySQL at %s went away during the run: check the server's log" % where(p), **result)
        module.fail_json(msg="MySQL at %s failed on %s.%s: %s" % (where(p), p["database"], p["table"], args[-1]),
                         **result)
    result["diff"] = dict(before=result["before"] or {}, after=result["after"] or {})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
