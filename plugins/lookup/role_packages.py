# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apt packages other roles of the collection will ask for on this host (issue 25)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_packages
author: prodready engineers (@prodready)
short_description: The apt packages that roles of this collection will install on a host
description:
  - Works out, for each named role of C(prodready.vps), the packages that role installs (its
    C(__<role>_packages)), templated with the role's C(defaults/main.yml), its C(vars/main.yml) and
    the host's variables, as a run of that role would see them.
  - A role that must install some of its packages itself declares the ones that may come early as
    C(__<role>_packages_early) in its C(vars/main.yml), and the lookup reads that instead. The
    mysql role does for MySQL, whose packages exist only once the role has added the vendor's
    repository; nginx, backup_server, monitoring and monitoring_agent declare none, because their
    servers listen on every address until the role configures them.
  - The common role installs them with its own packages, so a new host gets one apt transaction
    instead of one per role (C(common_packages_of_roles), set by the collection's playbooks from
    the host's groups). Each role still installs its own list, which then finds nothing missing.
  - A role whose list cannot be worked out here, for example from an input its own checks will
    refuse, is left out with a warning; that role installs its packages itself after its checks.
options:
  _terms:
    description: Names of roles of this collection (C(app), C(mysql), ...).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Install the packages of the roles this host will run in one transaction
  ansible.builtin.apt:
    name: "{{ lookup('prodready.vps.role_packages', 'redis', 'app', wantlist=true) }}"
"""

RETURN = r"""
_raw:
  description: Package names, each once, in the order the roles name them.
  type: list
  elements: str
"""

import collections
import os
import re

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template
from ansible.utils.display import Display

display = Display()

_ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "roles")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        packages = []
        for role in terms:
            for name in self._packages(role, variables or {}):
                if name not in packages:
                    packages.append(name)
        return packages

    def _load(self, path):
        if not os.path.exists(path):
            return {}
        data = self._loader.load_from_file(path, trusted_as_template=True)
        return data or {}

    def _packages(self, role, variables):
        if not isinstance(role, str) or not _NAME.match(role):
            raise AnsibleLookupError("role_packages: %r is not a role name" % (role,))
        path = os.path.join(_ROLES, role)
        var = "__%s_packages" % role
        role_vars = self._load(os.path.join(path, "vars", "main.yml"))
        if not os.path.isdir(path) or var not in role_vars:
            raise AnsibleLookupError("role_packages: prodready.vps.%s has no %s in vars/main.yml" % (role, var))
        # The part of the list the role lets others install before it runs, if it says.
        if var + "_early" in role_vars:
            var += "_early"
        defaults = self._load(os.path.join(path, "defaults", "main.yml"))
        # A role's defaults are below the host's variables, its vars/main.yml above them.
        templar = self._templar.copy_with_new_env(
            available_variables=collections.ChainMap(role_vars, variables, defaults))
        try:
            names = templar.template(trust_as_template("{{ %s }}" % var))
        except AnsibleError as error:
            display.warning("role_packages: the packages of %s are left to the role itself (%s)"
                            % (role, error.message))
            return []
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            display.warning("role_packages: the packages of %s are left to the role itself (%s is not a "
                            "list of names: %r)" % (role, var, names))
            return []
        return names
