#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several files, folders and links in one module call, each reported on its own."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Keep several files, folders and links as declared, in one call
description:
  - What a loop of M(ansible.builtin.copy) (with O(files[].content)), M(ansible.builtin.template)
    (with O(files[].template)) and M(ansible.builtin.file) does, in one round trip to the host
    instead of one per item (issue 25).
  - Every entry is checked before anything is written, so a wrong mode or a relative path fails
    the task with nothing on the host changed; so does a O(files[].validate) command that rejects
    new content.
  - Each entry is reported on its own in RV(files) (path, changed, diff), which the drift report
    shows as one finding per path; the diffs are also the task's diff, one per changed entry.
  - A file's content is written to a temporary file beside it and moved into place, so the file
    is never half written.
  - Not for secrets, whose contents diffs would show; use M(ansible.builtin.copy) or
    M(ansible.builtin.template) with C(no_log) for those.
version_added: 0.3.0
author: prodready engineers (@prodready)
options:
  files:
    description: The entries, in the order they are applied (a folder before what goes into it).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - C(file) with O(files[].content) writes the content; without it, the file must exist and
            only its owner, group and mode are kept.
          - C(directory) creates the folder (and missing parents) and keeps its owner, group and mode.
          - C(present) needs the path to be there (a file or a folder) and keeps its owner, group
            and mode only.
          - C(link) makes a symbolic link to O(files[].src), replacing a file or link there.
          - C(absent) removes a file or link (a folder only when it is empty).
        type: str
        choices: [file, directory, present, link, absent]
        default: file
      content:
        description: The whole content of the file (C(state=file)).
        type: str
      template:
        description:
          - A template of the role (or play), rendered on the controller as
            M(ansible.builtin.template) renders it, as the file's content (C(state=file)). The
            action plugin renders it; the module never receives it.
        type: str
      vars:
        description: Variables for O(files[].template) only, beside the task's.
        type: dict
      validate:
        description:
          - A command that checks the new content before it is kept; C(%s) is the path of a copy
            of it. Run for every entry whose content would change, in check mode too (where its
            program is installed), before anything is written; one entry that fails leaves every
            file as it was.
        type: str
      follow:
        description: When the path is a link, write the file it points to and keep the link.
        type: bool
        default: false
      src:
        description: Target of a link (C(state=link)).
        type: path
      owner:
        description: Owner; O(owner) when not set.
        type: str
      group:
        description: Group; O(group) when not set.
        type: str
      mode:
        description: Octal mode as a string, such as C("0640"); O(mode) when not set.
        type: str
  owner:
    description: Owner of every entry that does not name its own.
    type: str
    default: root
  group:
    description: Group of every entry that does not name its own.
    type: str
    default: root
  mode:
    description: Mode of every entry that does not name its own; unset leaves the mode alone
      (a new file or folder then gets the default of the umask).
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what it would change, per entry, and changes nothing.
  diff_mode:
    support: full
    description: Content diffs for files, state, owner, group and mode diffs for the rest.
"""

EXAMPLES = r"""
- name: Write the login banners and make the cron folders readable by root only
  prodready.vps.files:
    files:
      - {path: /etc/issue, content: "Authorised access only.\n", mode: "0644"}
      - {path: /etc/cron.d, state: present, mode: "0700"}
      - {path: /etc/crontab, state: present, mode: "0600"}
"""

RETURN = r"""
files:
  description: Each entry as applied, in order.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/issue", "state": "file", "changed": true,
            "diff": {"before": "Debian\n", "after": "Authorised access only.\n",
                     "before_header": "/etc/issue", "after_header": "/etc/issue"}}]
"""

import os
import re
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

MODE = re.compile(r"^0?[0-7]{3,4}$")
MAX_DIFF_BYTES = 64 * 1024


def problems(entries):
    """What is wrong with the entries, one message each ([] when nothing is)."""
    found = []
    for number, entry in enumerate(entries, 1):
        where = f"files[{number}] ({entry['path']})"
        if not os.path.isabs(entry["path"]) or entry["path"].rstrip("/") in ("", "/."):
            found.append(f"{where}: the path must be absolute and not /")
        if os.path.normpath(entry["path"]) != entry["path"].rstrip("/"):
            found.append(f"{where}: the path must be normal (no '..', '.' or '//')")
        if entry["mode"] is not None and not MODE.match(str(entry["mode"])):
            found.append(f"{where}: mode {entry['mode']!r} is not an octal mode such as '0640'")
        if entry["content"] is not None and entry["state"] != "file":
            found.append(f"{where}: content is for state=file, not {entry['state']}")
        if (entry["src"] is None) == (entry["state"] == "link"):
            found.append(f"{where}: src is for state=link, and a link needs it")
        if entry["validate"] is not None and (entry["content"] is None or "%s" not in entry["validate"]):
            found.append(f"{where}: validate is for content, and needs %s (the new file's path)")
        if entry["template"] is not None or entry["vars"] is not None:
            found.append(f"{where}: template and vars are rendered by the action plugin (prodready.vps.files)")
    paths = [e["path"].rstrip("/") for e in entries]
    found += [f"{p}: listed twice" for p in sorted({p for p in paths if paths.count(p) > 1})]
    return found


def current_state(path):
    if not os.path.lexists(path):
        return "absent"
    if os.path.islink(path):
        return "link"
    return "directory" if os.path.isdir(path) else "file"


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def write_content(module, path, data, mode):
    """Write data beside path and move it into place (atomic), keeping nothing half written. A new
    file without a declared mode gets the umask's default, as ansible.builtin.copy gives it."""
    folder = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(prefix=".prodready-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if mode is None and not os.path.exists(path):
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        module.atomic_move(tmp, path, unsafe_writes=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class Entry:
    def __init__(self, module, entry):
        self.module = module
        self.path = entry["path"].rstrip("/") or "/"
        if entry["follow"] and os.path.islink(self.path):
            self.path = os.path.realpath(self.path)
        self.want = entry["state"]
        self.entry = entry
        self.changed = False
        self.diff = None

    def attributes(self, diff, created=False):
        """Owner, group and mode (check mode aware), recording before/after in diff. A path this
        call creates (or would create) is recorded as what it will be."""
        args = {k: self.entry[k] for k in ("owner", "group", "mode")}
        if created:
            diff["after"].update({k: v for k, v in args.items() if v is not None})
            diff = None
        if os.path.lexists(self.path):
            changed = self.changed
            changed = self.module.set_owner_if_different(self.path, args["owner"], changed, diff)
            changed = self.module.set_group_if_different(self.path, args["group"], changed, diff)
            self.changed = self.module.set_mode_if_different(self.path, args["mode"], changed, diff)

    def conflict(self):
        """Why what is on the host cannot become this entry without losing something ('' when it can)."""
        now, want = current_state(self.path), self.want
        if want == "absent" and now == "directory" and os.listdir(self.path):
            return f"{self.path}: a folder with files in it is not removed"
        if want == "link" and now == "directory":
            return f"{self.path}: a folder is there, not a link"
        if want == "directory" and now not in ("absent", "directory") and not (now == "link" and os.path.isdir(self.path)):
            return f"{self.path}: a {now} is there, not a folder"
        if want == "present" and now == "absent":
            return f"{self.path}: no such file or folder"
        if want == "file" and now == "directory":
            return f"{self.path}: a folder is there, not a file"
        if want == "file" and self.entry["content"] is None and now == "absent":
            return f"{self.path}: no such file (give content to create it)"
        return ""

    def apply(self):
        check = self.module.check_mode
        wrong = self.conflict()
        if wrong:
            self.module.fail_json(msg=wrong)
        now = current_state(self.path)
        state_diff = {"before": {"path": self.path, "state": now}, "after": {"path": self.path, "state": self.want}}
        if self.want == "absent":
            if now != "absent":
                self.changed = True
                if not check:
                    (os.rmdir if now == "directory" else os.unlink)(self.path)
                self.diff = state_diff
            return self.report(now)
        if self.want == "link":
            target = os.readlink(self.path) if now == "link" else None
            if target != self.entry["src"]:
                self.changed = True
                state_diff["before"]["src"], state_diff["after"]["src"] = target, self.entry["src"]
                if not check:
                    tmp = os.path.join(os.path.dirname(self.path), f".prodready-link-{os.getpid()}")
                    if os.path.lexists(tmp):
                        os.unlink(tmp)
                    os.symlink(self.entry["src"], tmp)
                    os.rename(tmp, self.path)
                self.diff = state_diff
            return self.report(now)
        if self.want == "directory":
            if now == "absent":
                self.changed = True
                if not check:
                    os.makedirs(self.path)
            self.attributes(state_diff, created=now == "absent")
            if self.changed:
                self.diff = state_diff
            return self.report(now)
        if self.want == "present":
            self.attributes(state_diff)
            self.diff = state_diff if self.changed else None
            return self.report(self.want)
        return self.file(now, state_diff)

    def rejected(self):
        """The validate command's complaint about new content ('' when there is none to check)."""
        entry = self.entry
        if entry["validate"] is None or entry["state"] != "file" or entry["content"] is None:
            return ""
        data = to_bytes(entry["content"], errors="surrogate_or_strict")
        if current_state(self.path) == "file" and read_bytes(self.path) == data:
            return ""
        program = (shlex.split(entry["validate"]) or [""])[0]
        if not (self.module.get_bin_path(program) or os.path.isabs(program) and os.access(program, os.X_OK)):
            if self.module.check_mode:
                # A new host under --check: the program comes with a package a real run installs first.
                return ""
            return f"{self.path}: the validate command's program {program!r} is not on this host"
        folder = tempfile.mkdtemp(prefix="prodready-files-")
        try:
            copy = os.path.join(folder, os.path.basename(self.path))
            with open(copy, "wb") as out:
                out.write(data)
            rc, out, err = self.module.run_command(entry["validate"] % copy)
        finally:
            for name in os.listdir(folder):
                os.unlink(os.path.join(folder, name))
            os.rmdir(folder)
        if rc == 0:
            return ""
        return f"{self.path}: '{entry['validate']}' rejects the new content: {(err or out).strip()}"

    def file(self, now, state_diff):
        check = self.module.check_mode
        content = self.entry["content"]
        if content is None:
            self.attributes(state_diff)
            self.diff = state_diff if self.changed else None
            return self.report(now)
        data = to_bytes(content, errors="surrogate_or_strict")
        before = read_bytes(self.path) if now == "file" else b""
        if now != "file" or before != data:
            self.changed = True
            self.diff = {"before_header": self.path, "after_header": self.path,
                         "before": self.shown(before), "after": self.shown(data)}
            if not check:
                if not os.path.isdir(os.path.dirname(self.path)):
                    self.module.fail_json(msg=f"{self.path}: its folder does not exist (list the folder first)")
                write_content(self.module, self.path, data, self.entry["mode"])
        attrs = {"before": {}, "after": {}}
        self.attributes(attrs, created=now != "file")
        if attrs["before"] != attrs["after"]:
            if self.diff is None:
                self.diff = {"before": dict(attrs["before"], path=self.path), "after": dict(attrs["after"], path=self.path)}
        return self.report(now)

    @staticmethod
    def shown(data):
        if len(data) > MAX_DIFF_BYTES or b"\0" in data:
            return "[not shown: binary or larger than 64 KiB]\n"
        return to_text(data, errors="surrogate_or_strict")

    def report(self, before_state):
        result = {"path": self.path, "state": self.want, "changed": self.changed}
        if before_state != self.want:
            result["state_before"] = before_state
        if self.diff is not None and self.module._diff:
            result["diff"] = self.diff
        return result


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "required": True, "options": {
                "path": {"type": "path", "required": True},
                "state": {"type": "str", "choices": ["file", "directory", "present", "link", "absent"], "default": "file"},
                "content": {"type": "str"},
                "template": {"type": "str"},
                "vars": {"type": "dict"},
                "validate": {"type": "str"},
                "follow": {"type": "bool", "default": False},
                "src": {"type": "path"},
                "owner": {"type": "str"},
                "group": {"type": "str"},
                "mode": {"type": "str"},
            }},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str"},
        },
        supports_check_mode=True,
    )
    entries = []
    for entry in module.params["files"]:
        entry = dict(entry)
        for key in ("owner", "group", "mode"):
            if entry[key] is None:
                entry[key] = module.params[key]
        if entry["state"] in ("link", "absent"):
            entry["mode"] = None
        entries.append(entry)
    wrong = problems(entries)
    if wrong:
        module.fail_json(msg="; ".join(wrong), problems=wrong)
    planned = [Entry(module, entry) for entry in entries]
    # What the host has that an entry would have to destroy, and new content its validate command
    # rejects: all found before the first entry is applied.
    rejected = [msg for msg in (one.conflict() or one.rejected() for one in planned) if msg]
    if rejected:
        module.fail_json(msg="; ".join(rejected) + " (nothing was changed)", problems=rejected)
    results = [one.apply() for one in planned]
    module.exit_json(changed=any(r["changed"] for r in results), files=results,
                     diff=[r["diff"] for r in results if "diff" in r])


if __name__ == "__main__":
    main()
