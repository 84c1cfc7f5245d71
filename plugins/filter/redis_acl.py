# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules of each declared Redis ACL user, written once for auth.conf and for redis_config."""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleFilterError


def redis_acl_rules(users):
    """{name: 'on #<sha256 of the password> <keys> <channels> <commands>'} for redis_acl_users."""
    rules = {}
    for user in users or []:
        try:
            digest = hashlib.sha256(str(user["password"]).encode()).hexdigest()
            parts = ["on", "#" + digest] + list(user["keys"]) + list(user.get("channels") or ["resetchannels"])
            rules[user["name"]] = " ".join(parts + [str(user["commands"])])
        except (KeyError, TypeError) as err:
            raise AnsibleFilterError("each redis_acl_users entry needs name, password, keys and commands: %s" % err)
    return rules


class FilterModule:
    def filters(self):
        return {"redis_acl_rules": redis_acl_rules}
