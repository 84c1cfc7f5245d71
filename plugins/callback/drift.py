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

# Names that mark a secret: the value after them is masked in diffs, messages and item labels
# (belt and braces: the roles keep secrets out of their results with no_log and separate files).
_KEYWORD = (r"pass(?:word|wd|phrase)?|requirepass|masterauth|secret|token|auth|api[_-]?key|private[_-]?key"
            r"|access[_-]?key|credentials?")
_SECRETS = [
    # NAME_PASSWORD=x, redis_secret: x, "password": "x", api-key = x (the key may carry a prefix
    # and a suffix, such as DB_PASSWORD_FILE; "author:" or "auth required" are not keys).
    re.compile(r"(?i)(?<![A-Za-z0-9])([A-Za-z0-9_.-]*?(?:%s)(?:[_.-][A-Za-z0-9_.-]*)?[\"']?\s*[=:]\s*[\"']?)"
               r"([^\s\"',}]+)" % _KEYWORD),
    # Directives that take the secret after a space: redis.conf, SQL.
    re.compile(r"(?im)^([-+ ]?\s*(?:requirepass|masterauth)\s+)(\S+)"),
    re.compile(r"(?i)(identified\s+(?:by(?:\s+password)?|(?:with|via)\s+\S+\s+(?:as|using))\s+)('[^']*'|\S+)"),
    # Credentials in a URL: scheme://user:secret@host.
    re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)(?=@)"),
]
MASK = "********"
MAX_DIFF_CHARS = 20000

# How a task's action is read as a kind of drift when the module does not say (its findings do).
LIVE_ACTIONS = ("redis_config", "mysql_settings", "mysql_variables", "sysctl")
FILE_ACTIONS = ("template", "copy", "file", "files", "lineinfile", "blockinfile", "ini_file", "replace", "cron",
                "authorized_key", "unarchive")
RESTORE_ACTIONS = ("service", "systemd_service", "systemd", "apt", "package", "mysql_user", "mysql_db",
                   "postgresql_user", "postgresql_db", "user", "group")
WOULD_RUN = "Command would have run if not in check mode"
NO_CHECK_MODE = "does not support check mode"


def redact(text):
    """Mask the value after anything that names a secret."""
    if not isinstance(text, str):
        return text
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def _state(diff, side):
    """The 'state' a file-like module's diff gives for one side, or ''."""
    for d in diff if isinstance(diff, list) else [diff]:
        if isinstance(d, dict) and isinstance(d.get(side), dict):
            return d[side].get("state", "")
    return ""


def _new_file(diff):
    """A copy/template diff of a file that is not there: nothing before, content after."""
    for d in diff if isinstance(diff, list) else [diff]:
        if isinstance(d, dict) and d.get("before") == "" and d.get("after"):
            return True
    return False


def kind_of(action, res, handler=False):
    """The kind of a finding that has no explicit kind: live setting, effective config, added,
    removed, file, consequence (a restart or reload some other finding causes) or task."""
    short = action.rsplit(".", 1)[-1]
    if handler:
        return "consequence"
    if short in LIVE_ACTIONS:
        return "live setting"
    if short in FILE_ACTIONS:
        if _state(res.get("diff"), "after") == "absent":
            return "added"
        if _state(res.get("diff"), "before") == "absent" or _new_file(res.get("diff")):
            return "removed"
        return "file"
    if short in ("mysql_index", "postgresql_idx"):
        return "removed" if res.get("before") is None and not res.get("drift") else "effective config"
    if short in RESTORE_ACTIONS:
        return "removed"
    if short in ("command", "shell") and res.get("msg") == WOULD_RUN:
        return "effective config"
    return "task"


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
            # A file that is not there yet has no header: name it by the task's destination.
            where = result.get("dest") or result.get("path")
            parts.append(unified(d.get("before", ""), d.get("after", ""),
                                 d.get("before_header") or where, d.get("after_header") or where))
    text = redact("\n".join(p for p in parts if p))
    return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n[... cut]\n"


def _text(value):
    return redact(value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True))


def _is_loop(task):
    return bool(getattr(task, "loop", None) or getattr(task, "loop_with", None))


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
        return self.hosts.setdefault(name, {"status": "ok", "changes": [], "errors": [], "skipped": []})

    @staticmethod
    def _where(result):
        task = result._task
        role = task._role.get_name(include_role_fqcn=False) if task._role else ""
        return task, role

    def _entry(self, result, res, kind=None):
        task, role = self._where(result)
        handler = isinstance(task, Handler)
        entry = {"play": self.play, "role": role, "task": task.get_name(), "action": task.action,
                 "kind": kind or kind_of(task.action, res, handler)}
        if handler:
            entry["handler"] = True
        item = res.get("_ansible_item_label", res.get("item"))
        if item is not None:
            entry["item"] = _text(item)
        if res.get("censored"):
            entry["censored"] = True
        for key in ("msg", "warnings"):
            if res.get(key):
                entry[key] = _text(res[key])
        text = diff_text(res)
        if text:
            entry["diff"] = text
        return entry

    def _findings(self, result, res):
        """A module's own findings (kind, what, before, after), each an entry of the report."""
        entries = []
        for finding in res.get("findings") or []:
            if not isinstance(finding, dict):
                continue
            entry = self._entry(result, {k: v for k, v in res.items() if k != "diff"},
                                kind=str(finding.get("kind") or "task"))
            entry.pop("msg", None)
            entry.update(what=_text(finding.get("what", "")), before=_text(finding.get("before", "")),
                         after=_text(finding.get("after", "")))
            entries.append(entry)
        return entries

    @staticmethod
    def _drifts(res):
        """Whether an ok result is drift: a change, a module that says drift without changing,
        a command that would run, or a diff whose sides differ with no change reported."""
        if res.get("changed") or res.get("drift") or res.get("findings"):
            return True
        diffs = res.get("diff")
        for d in diffs if isinstance(diffs, list) else [diffs]:
            if isinstance(d, dict) and ("before" in d or "after" in d) and d.get("before") != d.get("after"):
                return True
        return False

    # --- events -------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        self.playbook = playbook._file_name

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name()
        if self.check_mode is None:
            self.check_mode = bool(context.CLIARGS.get("check", False))

    def _per_path(self, result, res):
        """prodready.vps.files: one entry per path it changed (or would change), as a loop's items."""
        entries = []
        for one in res.get("files") or []:
            if isinstance(one, dict) and one.get("changed"):
                entries.append(self._entry(result, {"item": one.get("path"), "path": one.get("path"),
                                                    "diff": one.get("diff")}))
        return entries

    def _record_ok(self, result):
        res = result._result
        host = self._host(result._host.get_name())
        if result._task.action.rsplit(".", 1)[-1] == "files" and isinstance(res.get("files"), list):
            host["changes"].extend(self._per_path(result, res))
            return
        if self._drifts(res):
            findings = self._findings(result, res)
            # A module that also changes what it does not list as findings (redis_config's
            # settings beside its ACL findings) is reported as a change too.
            if not findings or res.get("changes"):
                host["changes"].append(self._entry(result, res))
            host["changes"].extend(findings)

    def v2_runner_on_ok(self, result):
        # A looped task reports each item (v2_runner_item_on_ok) and then the whole loop; the
        # items carry the detail. A task that is no loop keeps its result, `results` key or not.
        if _is_loop(result._task) and result._result.get("results") is not None:
            self._host(result._host.get_name())
            return
        self._record_ok(result)

    def v2_runner_item_on_ok(self, result):
        self._record_ok(result)

    def _record_skip(self, result):
        res = result._result
        host = self._host(result._host.get_name())
        task, role = self._where(result)
        msg = str(res.get("msg") or "")
        if msg == WOULD_RUN:
            # ansible.builtin.command in check mode: its condition held, so a real run would act.
            host["changes"].append(self._entry(result, res))
            return
        if NO_CHECK_MODE in msg:
            # A blind spot: the check could not look at what this task manages.
            entry = self._entry(result, res, kind="blind spot")
            entry["msg"] = "not checked: " + _text(msg)
            host["errors"].append(entry)
            host["status"] = "failed"
            return
        reason = res.get("false_condition") or res.get("skipped_reason") or msg or "skipped"
        key = {"role": role, "task": task.get_name(), "reason": _text(reason)}
        if key not in host["skipped"]:
            host["skipped"].append(key)

    def v2_runner_on_skipped(self, result):
        if _is_loop(result._task) and result._result.get("results") is not None:
            if not result._result["results"]:
                self._record_skip(result)      # an empty loop: skipped as a whole
            return
        self._record_skip(result)

    def v2_runner_item_on_skipped(self, result):
        self._record_skip(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return self._host(result._host.get_name())
        if _is_loop(result._task) and result._result.get("results") is not None:
            host = self._host(result._host.get_name())
            host["status"] = "failed"
            return
        self._failed(result)

    def v2_runner_item_on_failed(self, result):
        # Under ignore_errors a failed item is the playbook's business, not a host failure.
        if getattr(result._task, "ignore_errors", False) is True:
            return self._host(result._host.get_name())
        self._failed(result)

    def _failed(self, result):
        host = self._host(result._host.get_name())
        host["status"] = "failed"
        entry = self._entry(result, result._result, kind="error")
        host["errors"].append(entry)
        # A module that stops on drift it will not repair (mysql_accounts) still says what it found.
        host["changes"].extend(self._findings(result, result._result))

    def v2_runner_on_unreachable(self, result):
        host = self._host(result._host.get_name())
        host["status"] = "unreachable"
        host["errors"].append(self._entry(result, result._result, kind="unreachable"))

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
            lines.append(f"- **{e.get('kind', 'error')}** in {e['role'] or e['play']}: {e['task']}: {e.get('msg', '')}".rstrip())
        for e in h["changes"]:
            item = f" [{e['item']}]" if "item" in e else ""
            what = f": {e['what']}: {e['before']} → {e['after']}" if "what" in e else ""
            lines.append(f"- **{e['kind']}** {e['role'] or e['play']}: {e['task']}{item}{what} ({e['action']})")
            if e.get("diff"):
                lines += ["", "  ```diff"] + ["  " + ln for ln in e["diff"].rstrip("\n").splitlines()] + ["  ```", ""]
        lines.append("")
    return "\n".join(lines) + "\n"
