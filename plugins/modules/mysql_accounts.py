#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find MySQL/MariaDB accounts nobody declared that can reach the server from elsewhere or hold global rights."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mysql_accounts
short_description: Audit MySQL or MariaDB for accounts that were added beside the declared ones
description:
  - Reads every account and its global privileges once, and finds those that are neither in
    O(declared) nor the distribution's own (C(root@localhost), C(mariadb.sys@localhost),
    C(mysql@localhost), ...) and that can log in from a non-local host or hold a global privilege.
    An extra account that can only log in locally with no global right is left alone.
  - With O(remove=true) drops them (C(DROP USER)). Otherwise a normal run fails naming them, and a
    check-mode run reports them as drift (RV(drift)), so a scheduled drift check names them
    without failing.
version_added: 0.2.0
author: prodready engineers (@prodready)
options:
  declared:
    description: Accounts that are meant to exist, as C(user@host).
    type: list
    elements: str
    default: []
  remove:
    description: Drop the accounts found instead of failing.
    type: bool
    default: false
extends_documentation_fragment:
  - prodready.vps.mysql
attributes:
  check_mode:
    support: full
    description: Reports the accounts found (as changes with O(remove=true), as drift otherwise) and drops nothing.
  diff_mode:
    support: full
    description: Shows the accounts found before and after.
"""

EXAMPLES = r"""
- name: Drop accounts that nobody declared and that reach the server from elsewhere
  prodready.vps.mysql_accounts:
    login_unix_socket: /run/mysqld/mysqld.sock
    declared: [app@10.0.0.11, app@10.0.0.12, backup@localhost]
    remove: true
"""

RETURN = r"""
findings:
  description: Each account found, as a drift finding (kind, what, before, after).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "added", "what": "account intruder@%", "before": "can log in from any host",
            "after": "absent"}]
drift:
  description: Accounts were found and left in place (check mode without O(remove)).
  returned: always
  type: bool
queries:
  description: The statements run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["DROP USER 'intruder'@'%'"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.prodready.vps.plugins.module_utils._mysql import (
    HAS_PYMYSQL, PYMYSQL_IMPORT_ERROR, MySQLModuleError, connect, connection_argument_spec, quote_account,
    read_accounts, unmanaged_accounts, where)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(declared=dict(type="list", elements="str", default=[]),
                         remove=dict(type="bool", default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=PYMYSQL_IMPORT_ERROR)
    p = module.params
    try:
        conn = connect(p)
        with conn.cursor() as cursor:
            found = unmanaged_accounts(read_accounts(cursor), p["declared"])
            queries = ["DROP USER %s" % quote_account(a["user"], a["host"]) for a in found] if p["remove"] else []
            if queries and not module.check_mode:
                for query in queries:
                    cursor.execute(query)
    except MySQLModuleError as err:
        module.fail_json(msg=str(err))
    except Exception as err:  # pylint: disable=broad-except
        module.fail_json(msg="MySQL at %s failed while reading or dropping accounts: %s" % (where(p), err))
    findings = [{"kind": "added", "what": "account %s" % a["account"], "before": "; ".join(a["reasons"]),
                 "after": "absent"} for a in found]
    if found and not p["remove"] and not module.check_mode:
        module.fail_json(msg="accounts nobody declared can reach the server: %s. Drop them, declare them, or set "
                             "mysql_remove_unmanaged_accounts: true to have them dropped"
                             % "; ".join("%s (%s)" % (f["what"][8:], f["before"]) for f in findings),
                         findings=findings, drift=True)
    module.exit_json(changed=bool(queries), drift=bool(found) and not queries, findings=findings, queries=queries,
                     diff={"before": {"accounts": [a["account"] for a in found]},
                           "after": {"accounts": [] if queries else [a["account"] for a in found]}})


if __name__ == "__main__":
    main()
