#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify and enforce the live global variables of a MySQL or MariaDB server."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mysql_settings
short_description: Verify and enforce live global variables of MySQL or MariaDB, with check and diff mode
description:
  - Reads every variable once with C(SHOW GLOBAL VARIABLES), compares each with the desired value
    after normalising both (C(ON)/C(1)/V(true), C(2) and C(2.000000), C(64M) and C(67108864), case
    outside paths), and sets only the ones that differ with C(SET GLOBAL).
  - Catches what a config file cannot show, such as a C(SET GLOBAL max_connections = 5) made by
    hand while the file still says 1000. Unlike C(community.mysql.mysql_variables) it runs in check
    mode, so the drift check sees these settings.
  - A name the server does not know fails before anything is set. A value the server adjusts (a
    number beyond the variable's range) fails with the value it took, instead of reporting a
    change on every run.
version_added: 0.2.0
author: prodready engineers (@prodready)
options:
  settings:
    description:
      - Desired global variables by name, as C(SHOW GLOBAL VARIABLES) prints them. Values may be
        strings, numbers, booleans or sizes such as C(64M).
    type: dict
    required: true
extends_documentation_fragment:
  - prodready.vps.mysql
attributes:
  check_mode:
    support: full
    description: Reports which variables differ and changes nothing.
  diff_mode:
    support: full
    description: Shows the live and desired value of each variable that differs.
notes:
  - A variable the server reads only at start (C(innodb_log_file_size), ...) fails with a message
    that says to set it in the config file and restart.
  - The values are not persisted; keep them in the server's config file too, as the
    P(prodready.vps.mysql#role) role does.
"""

EXAMPLES = r"""
- name: Enforce the dynamic settings on the running server
  prodready.vps.mysql_settings:
    login_unix_socket: /run/mysqld/mysqld.sock
    settings:
      max_connections: 1000
      collation_server: utf8mb4_unicode_ci
      slow_query_log: true
      long_query_time: 2
      binlog_expire_logs_seconds: 604800
"""

RETURN = r"""
changes:
  description: Each variable that differed, with its live value before and the desired value after.
  returned: always
  type: dict
  sample: {"max_connections": {"before": "5", "after": 1000}}
queries:
  description: The statements run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["SET GLOBAL max_connections = 1000"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.prodready.vps.plugins.module_utils._mysql import (
    HAS_PYMYSQL, PYMYSQL_IMPORT_ERROR, MySQLModuleError, check_name, connect, connection_argument_spec,
    read_settings, same_setting, to_sql, where)

ER_READ_ONLY = 1238
ER_UNKNOWN_VARIABLE = 1193
ER_WRONG_VALUE = (1231, 1232)


def plan(live, desired):
    """{name: {before, after}} for each variable whose live value is not the desired one."""
    return {name: {"before": live[name], "after": desired[name]}
            for name in sorted(desired) if not same_setting(live[name], desired[name])}


def statement(name, value):
    """The statement as shown (the value is bound as a parameter when it runs)."""
    value = to_sql(value)
    return "SET GLOBAL %s = %s" % (name, value if isinstance(value, (int, float)) else "'%s'" % value)


def apply(cursor, params, changes):
    for name, change in changes.items():
        try:
            cursor.execute("SET GLOBAL %s = %%s" % name, (to_sql(change["after"]),))
        except Exception as err:  # pylint: disable=broad-except
            code, text = (err.args[0], err.args[-1]) if len(getattr(err, "args", ())) > 1 else (None, str(err))
            if code == ER_READ_ONLY:
                raise MySQLModuleError("%s is read-only at run time on %s: set it in the server's config file "
                                       "and restart" % (name, where(params)))
            if code in ER_WRONG_VALUE:
                raise MySQLModuleError("%s rejected %s for %s: %s" % (where(params), change["after"], name, text))
            raise MySQLModuleError("%s refused %s: %s" % (where(params), statement(name, change["after"]), text))
    after = read_settings(cursor, list(changes))
    adjusted = {n: after[n] for n in changes if not same_setting(after[n], changes[n]["after"])}
    if adjusted:
        raise MySQLModuleError("%s adjusted %s: give a value within the variable's range"
                               % (where(params), ", ".join("%s to %s (asked %s)" % (n, v, changes[n]["after"])
                                                           for n, v in sorted(adjusted.items()))))


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(settings=dict(type="dict", required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=PYMYSQL_IMPORT_ERROR)
    p = module.params
    changes = {}
    try:
        desired = {check_name(name): value for name, value in p["settings"].items()}
        conn = connect(p)
        with conn.cursor() as cursor:
            changes = plan(read_settings(cursor, list(desired)), desired)
            if changes and not module.check_mode:
                apply(cursor, p, changes)
    except MySQLModuleError as err:
        module.fail_json(msg=str(err), changes=changes)
    except Exception as err:  # pylint: disable=broad-except
        module.fail_json(msg="MySQL at %s failed while reading or setting variables: %s" % (where(p), err),
                         changes=changes)
    module.exit_json(changed=bool(changes), changes=changes,
                     queries=[statement(n, c["after"]) for n, c in changes.items()],
                     diff={"before": {n: c["before"] for n, c in changes.items()},
                           "after": {n: c["after"] for n, c in changes.items()}})


if __name__ == "__main__":
    main()
