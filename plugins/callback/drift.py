# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect what a --check --diff run of site.yml would change, per host, into a drift report."""
from __future__ import annotations

DOCUMENTATION = r"""
name: drift
type: aggregate
short_description: Writes a drift report (JSON and Markdown) of a check-mode run
description:
  - Records, for each host, every task that would change something (with its role, play, action,
    item and diff), every task that failed and every host that could not be reached.
  - Writes C(drift.json) and C(drift.md) in the report directory when the run ends. Secrets stay
    out, as a C(no_log) task's result reaches callbacks already censored, and diff lines that look
    like a password, token or key assignment are masked on top of that.
  - Meant for C(ansible-playbook site.yml --check --diff) (what C(scripts/drift-check) runs); it
    changes nothing itself and leaves the console output to the stdout callback.
version_added: 0.1.0
author: prodready engineers (@prodready)
requirements:
  - enable in ansible.cfg or with C(ANSIBLE_CALLBACKS_ENABLED=prodready.vps.drift)
options:
  report_dir:
    description: Directory the report files are written to (made if missing, mode 0750).
    type: path
    default: ./reports/latest
    env:
      - name: PRODREADY_DRIFT_REPORT_DIR
    ini:
      - section: prodready_drift
        key: report_dir
"""

import datetime
import difflib
import json
import os
import re

from ansible import context
from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase

# A value after one of these words, in a diff line, is masked (belt and braces: the roles
# already keep secrets out of their diffs with no_log and separate secret files).
SECRET_LINE = re.compile(
    r"(?i)\b(pass(word|wd)?|requirepass|masterauth|secret|token|api[_-]?key|private[_-]?key|"
    r"identified\s+by|auth)\b(\s*[=:]\s*|\s+)(\S+)")
MASK = "********"
MAX_DIFF_CHARS = 20000


def redact(text):
    """Mask the value after anything that names a secret, line by line."""
    if not isinstance(text, str):
        return text
    return SECRET_LINE.sub(lambda m: m.group(1) + m.group(3) + MASK, text)


def unified(before, after, before_header, after_header):
    if not isinstance(before, str):
        before = json.dumps(before, indent=2, sort_keys=True, default=str) + "\n"
    if not isinstance(after, str):
        after = json.dumps(after, indent=2, sort_keys=True, default=str) + "\n"
    return "".join(difflib.unified_diff(
        before.splitlines(True), after.splitlines(True),
        fromfile=before_header or "before", tofile=after_header or "after"))


def diff_text(result):
    """The result's diff(s) as one redacted unified-diff text ('' when there is none)."""
    diffs = result.get("diff")
    if not diffs:
        return ""
    if isinstance(diffs, dict):
        diffs = [diffs]
    parts = []
    for d in diffs:
        if not isinstance(d, dict):
            continue
        if "prepared" in d:
            parts.append(str(d["prepared"]))
        if "before" in d or "after" in d:
            parts.append(unified(d.get("before", ""), d.get("after", ""),
                                 d.get("before_header"), d.get("after_header")))
    text = redact("\n".join(p for p in parts if p))
    return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n[... cut]\n"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "prodready.vps.drift"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.hosts = {}
        self.play = ""
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.check_mode = None

    def _host(self, name):
        return self.hosts.setdefault(name, {"status": "ok", "changes": [], "errors": []})

    @staticmethod
    def _where(result):
        task = result._task
        role = task._role.get_name(include_role_fqcn=False) if task._role else ""
        return task, role

    def _entry(self, result, res):
        task, role = self._where(result)
        entry = {"play": self.play, "role": role, "task": task.get_name(), "action": task.action}
        if isinstance(task, Handler):
            entry["handler"] = True
        item = res.get("_ansible_item_label", res.get("item"))
        if item is not None:
            entry["item"] = redact(item if isinstance(item, str) else json.dumps(item, default=str))
        if res.get("censored"):
            entry["censored"] = True
        for key in ("msg", "warnings"):
            if res.get(key):
                entry[key] = redact(res[key] if isinstance(res[key], str) else json.dumps(res[key], default=str))
        text = diff_text(res)
        if text:
            entry["diff"] = text
        return entry

    # --- events -------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        self.playbook = playbook._file_name

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name()
        if self.check_mode is None:
            self.check_mode = bool(context.CLIARGS.get("check", False))

    def _record_ok(self, result):
        res = result._result
        if res.get("changed"):
            self._host(result._host.get_name())["changes"].append(self._entry(result, res))
        else:
            self._host(result._host.get_name())

    def v2_runner_on_ok(self, result):
        # A looped task reports each item (v2_runner_item_on_ok) and then the whole loop; the
        # items carry the detail, so a loop's summary is kept only when it has no items.
        if result._result.get("results") is not None:
            self._host(result._host.get_name())
            return
        self._record_ok(result)

    def v2_runner_item_on_ok(self, result):
        self._record_ok(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return self._host(result._host.get_name())
        if result._result.get("results") is not None:
            host = self._host(result._host.get_name())
            host["status"] = "failed"
            return
        self._failed(result)

    def v2_runner_item_on_failed(self, result):
        self._failed(result)

    def _failed(self, result):
        host = self._host(result._host.get_name())
        host["status"] = "failed"
        host["errors"].append(self._entry(result, result._result))

    def v2_runner_on_unreachable(self, result):
        host = self._host(result._host.get_name())
        host["status"] = "unreachable"
        host["errors"].append(self._entry(result, result._result))

    def v2_playbook_on_stats(self, stats):
        for name in stats.processed:
            self._host(name)
        self._write()

    # --- report -------------------------------------------------------------------------------
    def _write(self):
        directory = self.get_option("report_dir")
        os.makedirs(directory, mode=0o750, exist_ok=True)
        hosts = {}
        for name in sorted(self.hosts):
            h = self.hosts[name]
            status = h["status"]
            if status == "ok" and h["changes"]:
                status = "drift"
            hosts[name] = dict(h, status=status)
        summary = {s: sorted(n for n, h in hosts.items() if h["status"] == s)
                   for s in ("ok", "drift", "failed", "unreachable")}
        report = {
            "version": 1,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "playbook": getattr(self, "playbook", ""),
            "check_mode": bool(self.check_mode),
            "summary": summary,
            "hosts": hosts,
        }
        self._atomic(os.path.join(directory, "drift.json"), json.dumps(report, indent=2, sort_keys=False) + "\n")
        self._atomic(os.path.join(directory, "drift.md"), markdown(report))

    @staticmethod
    def _atomic(path, text):
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)


def markdown(report):
    s = report["summary"]
    lines = [
        "# Drift report",
        "",
        f"Run {report['started']} to {report['finished']} ({report['playbook']}, "
        f"{'check mode' if report['check_mode'] else 'NOT check mode: changes were applied'}).",
        "",
        f"- hosts checked: {len(report['hosts'])}",
        f"- no drift: {', '.join(s['ok']) or 'none'}",
        f"- drift: {', '.join(s['drift']) or 'none'}",
        f"- failed: {', '.join(s['failed']) or 'none'}",
        f"- unreachable: {', '.join(s['unreachable']) or 'none'}",
        "",
    ]
    for name, h in report["hosts"].items():
        if h["status"] == "ok":
            continue
        lines += [f"## {name}: {h['status']}", ""]
        for e in h["errors"]:
            lines.append(f"- **error** in {e['role'] or e['play']}: {e['task']}: {e.get('msg', '')}".rstrip())
        for e in h["changes"]:
            item = f" [{e['item']}]" if "item" in e else ""
            kind = ", handler" if e.get("handler") else ""
            lines.append(f"- {e['role'] or e['play']}: {e['task']}{item} ({e['action']}{kind})")
            if e.get("diff"):
                lines += ["", "  ```diff"] + ["  " + ln for ln in e["diff"].rstrip("\n").splitlines()] + ["  ```", ""]
        lines.append("")
    return "\n".join(lines) + "\n"
