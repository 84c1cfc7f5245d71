#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify and enforce the live configuration of a Redis or Valkey server."""

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_config
short_description: Verify and enforce the live configuration of a Redis or Valkey server
description:
  - Reads each setting with C(CONFIG GET), compares it with the desired value after normalising
    both (sizes such as C(2gb) and byte counts, C(yes)/C(no) and booleans, C(save) written as a
    string or a list, spacing and case), and sets the ones that differ with C(CONFIG SET).
  - Catches what file-based tasks miss, such as a C(CONFIG SET maxmemory-policy noeviction) made by
    hand while C(redis.conf) still looks right.
  - Works when C(CONFIG) is renamed (O(config_command)) and with ACL users (O(login_user)).
  - Values of secret settings (C(requirepass), C(masterauth)) are never returned or shown in a diff.
version_added: 0.1.0
author: prodready engineers (@prodready)
options:
  settings:
    description:
      - Desired settings, by the names C(CONFIG GET) knows (C(maxmemory), C(maxmemory-policy),
        C(appendfsync), C(save), ...). Values may be strings, numbers, booleans or lists.
    type: dict
    required: true
  persist:
    description:
      - Run C(CONFIG REWRITE) after a change so the server's config file keeps it.
      - Set V(false) when a template owns the config file, as the P(prodready.vps.redis#role) role
        does. The file then never drifts from the template, and C(rename-command) lines are never
        at the mercy of a rewrite.
    type: bool
    default: true
  acl_users:
    description:
      - The ACL users that may exist besides C(default), each with its rules as an ACL file line
        after C(user NAME), such as C(on) then C(#) and the password's SHA-256, then C(~app:* +@all -@dangerous). When given, C(ACL LIST) is
        read too. A user not listed is deleted (C(ACL DELUSER)), and a listed one that is missing,
        off, or has another password is set back from its rules (C(ACL SETUSER NAME reset ...)).
      - Rule changes that keep the user on with its password are not compared.
      - Omit to leave ACL users alone.
    type: dict
extends_documentation_fragment:
  - prodready.vps.redis
attributes:
  check_mode:
    support: full
    description: Reports which settings differ and changes nothing.
  diff_mode:
    support: full
    description: Shows the live and desired values of each setting that differs.
notes:
  - A setting Redis only reads at start (C(daemonize), C(databases), ...) fails with a message that
    says to set it in the config file and restart.
"""

EXAMPLES = r"""
- name: Enforce memory and persistence settings on the running server
  prodready.vps.redis_config:
    login_password: "{{ redis_requirepass }}"
    config_command: "{{ redis_config_command }}"
    persist: false
    settings:
      maxmemory: 2gb
      maxmemory-policy: allkeys-lru
      appendonly: true
      appendfsync: everysec
      save: ["900 1", "300 10", "60 10000"]

- name: Check only (what a scheduled drift check runs)
  prodready.vps.redis_config:
    login_user: ops
    login_password: "{{ vault_redis_ops_password }}"
    settings:
      maxmemory-policy: allkeys-lru
  check_mode: true
  register: redis_drift
"""

RETURN = r"""
changes:
  description: Each setting that differed, with its live value before and the desired value after.
  returned: always
  type: dict
  sample: {"maxmemory-policy": {"before": "noeviction", "after": "allkeys-lru"}}
queries:
  description: The commands run (or, in check mode, that would run); the CONFIG alias and secret values left out.
  returned: always
  type: list
  elements: str
  sample: ["CONFIG SET maxmemory-policy allkeys-lru", "CONFIG REWRITE"]
findings:
  description: ACL users that were added, or declared ones that are missing, off or have another password.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "added", "what": "ACL user intruder", "before": "present", "after": "absent"}]
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.prodready.vps.plugins.module_utils._compare import plan_changes
from ansible_collections.prodready.vps.plugins.module_utils._redis import (
    HAS_REDIS, REDIS_IMPORT_ERROR, RedisModuleError, apply, connect, connection_argument_spec, where,
    RedisModule, apply_acl, normalise, plan_acl, planned_queries, protect_secrets, read_acl, read_live, redact)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(settings=dict(type="dict", required=True),
                         persist=dict(type="bool", default=True),
                         acl_users=dict(type="dict"))
    module = RedisModule(argument_spec=argument_spec, supports_check_mode=True,
                         mutually_exclusive=[("login_unix_socket", "login_host")])
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    protect_secrets(module)
    # Setting names are case-insensitive to Redis; CONFIG GET answers in lower case.
    settings = {str(name).lower(): value for name, value in module.params["settings"].items()}

    findings, acl_commands = [], []
    try:
        client = connect(module.params)
        changes = plan_changes(read_live(client, module.params, list(settings)), settings, normalise)
        if module.params["acl_users"] is not None:
            findings, acl_commands = plan_acl(read_acl(client, module.params), module.params["acl_users"])
        if changes and not module.check_mode:
            apply(client, module.params, changes, module.params["persist"])
        if acl_commands and not module.check_mode:
            apply_acl(client, module.params, acl_commands)
    except RedisModuleError as err:
        module.fail_json(msg=str(err))
    except Exception as err:  # pylint: disable=broad-except
        # The connection dropped or timed out after PING (a restart, a slow server): say so.
        module.fail_json(msg="Redis at %s failed during the run (%s: %s): check that the server is up and "
                             "answering, then run again" % (where(module.params), type(err).__name__, err))

    shown = {name: {"before": redact(name, c["before"]), "after": redact(name, c["after"])}
             for name, c in changes.items()}
    queries = planned_queries(changes, module.params["persist"]) + [" ".join(c[:3]) for c in acl_commands]
    module.exit_json(changed=bool(changes) or bool(acl_commands), changes=shown, findings=findings, queries=queries,
                     diff={"before": {n: c["before"] for n, c in shown.items()},
                           "after": {n: c["after"] for n, c in shown.items()}})


if __name__ == "__main__":
    main()
