# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a role's inputs on the controller, every check in one task (issue 25: a role's checks were
one assert task each, some 70 task runs of a whole-site run). Each check keeps its own message;
a run with bad input stops before anything on the host changes, naming every check that failed."""

from __future__ import annotations

import collections

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

_KEYS = frozenset(("name", "that", "msg", "when", "loop"))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("checks",))
    _requires_connection = False

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        # The checks are evaluated one by one in run(): a check's message, loop and condition may
        # name what only exists when the checks before it passed or when its own `when` holds.
        if name == "checks":
            return value
        return super().finalize_task_arg(name, value, templar, context)

    def _with(self, extra):
        return self._templar.copy_with_new_env(
            available_variables=collections.ChainMap(extra, self._templar.available_variables))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        checks = self._task.args.get("checks")
        if not isinstance(checks, list) or not checks:
            raise AnsibleActionFail("checks must be a list of {name, that, msg} (and when, loop)")
        failures = []
        for check in checks:
            if not isinstance(check, dict) or not {"that", "msg"} <= set(check) or set(check) - _KEYS:
                raise AnsibleActionFail("each check needs that and msg, and may have name, when and loop: got %r"
                                        % (sorted(check) if isinstance(check, dict) else check,))
            try:
                failures += self._check(check)
            except Exception:
                # A later check may read what an earlier, failed one found wrong (a filter that
                # refuses the same bad value): the failures so far are the message.
                if failures:
                    break
                raise
        result["changed"] = False
        if failures:
            result.update(failed=True, msg=failures[0] if len(failures) == 1 else " | ".join(failures),
                          failures=failures)
        else:
            result["msg"] = "All %d checks passed" % len(checks)
        return result

    def _check(self, check):
        """The messages of one check: none when it holds or does not apply, one per failed item."""
        if "when" in check and not self._holds(self._templar, check["when"]):
            return []
        if "loop" in check:
            items = self._templar.template(check["loop"])
            if not isinstance(items, list):
                raise AnsibleActionFail("the loop of check %r must be a list (got %r)"
                                        % (check.get("name", check["msg"]), type(items).__name__))
            templars = [self._with({"item": item}) for item in items]
        else:
            templars = [self._templar]
        return [str(templar.template(check["msg"])).strip() for templar in templars
                if not self._holds(templar, check["that"])]

    @staticmethod
    def _holds(templar, conditions):
        conditions = conditions if isinstance(conditions, list) else [conditions]
        return all(templar.evaluate_conditional(c) for c in conditions)
