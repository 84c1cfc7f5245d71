# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""prodready.vps.files on the controller: renders the entries given as templates, as
ansible.builtin.template does (same search path, ansible_managed, trim_blocks), then runs the module
once with every entry's content (issue 25: one round trip for N files)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

try:    # what ansible.builtin.template itself uses for template_path, ansible_managed and the like
    from ansible._internal._templating import _template_vars
except ImportError:     # pragma: no cover (another ansible-core: the same variables by hand)
    _template_vars = None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def _render(self, src, dest, extra_vars, task_vars):
        try:
            source = self._find_needle("templates", src)
        except AnsibleError as err:
            raise AnsibleActionFail(f"{dest}: {to_text(err)}") from err
        data = trust_as_template(self._loader.get_text_file_contents(source))
        searchpath = list(task_vars.get("ansible_search_path", [])) + [self._loader._basedir, os.path.dirname(source)]
        searchpath = [q for p in searchpath for q in (os.path.join(p, "templates"), p)]
        variables = task_vars.copy()
        if _template_vars is not None:
            variables.update(_template_vars.generate_ansible_template_vars(
                path=src, fullpath=source, dest_path=dest,
                include_ansible_managed="ansible_managed" not in variables))
        else:
            variables.update(template_path=src, template_fullpath=source, template_destpath=dest)
        variables.update(extra_vars or {})
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        text = templar.template(data, escape_backslashes=False, overrides={"trim_blocks": True})
        return "" if text is None else to_text(text)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        entries = args.get("files")
        if not isinstance(entries, list):
            raise AnsibleActionFail("files must be a list of entries")
        rendered = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise AnsibleActionFail(f"each entry of files is a dictionary (got {entry!r})")
            entry = dict(entry)
            src = entry.pop("template", None)
            extra_vars = entry.pop("vars", None)
            if src is not None:
                if entry.get("content") is not None:
                    raise AnsibleActionFail(f"{entry.get('path')}: template or content, not both")
                entry["content"] = self._render(src, entry.get("path"), extra_vars, task_vars)
            elif extra_vars is not None:
                raise AnsibleActionFail(f"{entry.get('path')}: vars are for a template entry")
            rendered.append(entry)
        args["files"] = rendered
        result.update(self._execute_module(module_name="prodready.vps.files", module_args=args, task_vars=task_vars))
        return result
