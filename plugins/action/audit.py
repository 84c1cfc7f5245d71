# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report drift findings computed from live readings; runs on the controller, no round trip."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

_KINDS = ("live setting", "effective config", "added", "removed", "file")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("findings", "fail_msg"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        findings = self._task.args.get("findings") or []
        fail_msg = self._task.args.get("fail_msg")
        if not isinstance(findings, list):
            raise AnsibleActionFail("findings must be a list of {kind, what, before, after}")
        for finding in findings:
            if not isinstance(finding, dict) or finding.get("kind") not in _KINDS or not finding.get("what"):
                raise AnsibleActionFail("each finding needs a kind (one of %s) and a what: got %r"
                                        % (", ".join(_KINDS), finding))
        result.update(changed=False, findings=findings, drift=bool(findings) and self._task.check_mode)
        if findings:
            lines = ["%s: %s → %s" % (f["what"], f.get("before", ""), f.get("after", "")) for f in findings]
            if fail_msg and not self._task.check_mode:
                result.update(failed=True, msg="%s: %s" % (fail_msg, "; ".join(lines)))
            else:
                result["msg"] = "; ".join(lines)
                if not self._task.check_mode:
                    # A normal run shows them: the tasks after this one repair what they may.
                    result["warnings"] = ["found " + line for line in lines]
        return result
