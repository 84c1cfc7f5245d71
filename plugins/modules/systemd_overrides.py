#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and remove drop-ins and unit files that override our units and that we did not write."""

from __future__ import annotations

DOCUMENTATION = r"""
module: systemd_overrides
short_description: Keep systemd units free of drop-ins and replacement unit files nobody declared
description:
  - Reads, in one C(systemctl show) call, the unit file and the drop-ins systemd applies to each of
    O(units). A drop-in or unit file under C(/etc) or C(/run) that is not in O(managed) is an
    override nobody declared (C(systemctl edit), C(systemctl set-property), a copied unit file).
  - Moves each one to O(backup_dir) (nothing is lost), reloads systemd and restarts the units it
    affected that were running, so they run with the declared settings again. In check mode it
    reports them as drift and changes nothing.
  - Files the packages ship (C(/usr/lib), C(/lib)) are the distribution's and left alone.
version_added: 0.2.0
author: prodready engineers (@prodready)
options:
  units:
    description: Units to look at (template instances such as C(shop@3000.service) included).
    type: list
    elements: str
    required: true
  managed:
    description: Unit files and drop-ins that are meant to be there (the ones the roles write).
    type: list
    elements: path
    default: []
  backup_dir:
    description: Where overrides are moved to, under their original path.
    type: path
    default: /var/backups/prodready/systemd
attributes:
  check_mode:
    support: full
    description: Reports the overrides and moves nothing.
  diff_mode:
    support: full
    description: Lists the overrides before and after.
"""

EXAMPLES = r"""
- name: Remove overrides of the app's units that nobody declared
  prodready.vps.systemd_overrides:
    units: [shop@3000.service, shop@3001.service]
    managed: [/etc/systemd/system/shop@.service]
"""

RETURN = r"""
findings:
  description: Each override, as a drift finding (kind, what, before, after).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "added", "what": "drop-in /etc/systemd/system/shop@.service.d/override.conf on shop@3000.service",
            "before": "present", "after": "moved to /var/backups/prodready/systemd"}]
restarted:
  description: Running units restarted so that they run without the overrides.
  returned: always
  type: list
  elements: str
"""

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule


def parse_show(text):
    """`systemctl show -p Id -p FragmentPath -p DropInPaths -p ActiveState U...` as a list of dicts."""
    units = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        units.append(dict(line.split("=", 1) for line in block.splitlines() if "=" in line))
    return units


def overrides(units, managed):
    """[(unit id, path, what)] for every drop-in or unit file in /etc or /run not in `managed`."""
    managed = set(managed)
    found = []
    for unit in units:
        name = unit.get("Id", "?")
        for path in unit.get("DropInPaths", "").split():
            if path.startswith(("/etc/", "/run/")) and path not in managed:
                found.append((name, path, "drop-in %s on %s" % (path, name)))
        fragment = unit.get("FragmentPath", "")
        if fragment.startswith(("/etc/", "/run/")) and fragment not in managed:
            found.append((name, fragment, "unit file %s replaces %s" % (fragment, name)))
    return found


def main():
    module = AnsibleModule(argument_spec=dict(
        units=dict(type="list", elements="str", required=True),
        managed=dict(type="list", elements="path", default=[]),
        backup_dir=dict(type="path", default="/var/backups/prodready/systemd")), supports_check_mode=True)
    p = module.params
    for unit in p["units"]:
        if not re.match(r"^[A-Za-z0-9:_.@\\-]+$", unit):
            module.fail_json(msg="'%s' is not a unit name" % unit)
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, out, err = module.run_command([systemctl, "show", "-p", "Id", "-p", "FragmentPath", "-p", "DropInPaths",
                                       "-p", "ActiveState", "--"] + p["units"])
    if rc != 0:
        module.fail_json(msg="systemctl show failed: %s" % err.strip())
    units = parse_show(out)
    found = overrides(units, p["managed"])
    paths = sorted({entry[1] for entry in found})
    after = "absent" if module.check_mode else "moved to %s" % p["backup_dir"]
    findings = [{"kind": "added", "what": entry[2], "before": "present", "after": after} for entry in found]
    active = {u.get("Id") for u in units if u.get("ActiveState") in ("active", "activating", "reloading")}
    restart = sorted({entry[0] for entry in found if entry[0] in active})
    if paths and not module.check_mode:
        for path in paths:
            target = os.path.join(p["backup_dir"], path.lstrip("/"))
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            shutil.move(path, target)
            folder = os.path.dirname(path)
            if folder.endswith(".d") and not os.listdir(folder):
                os.rmdir(folder)
        for command in [[systemctl, "daemon-reload"]] + [[systemctl, "restart", "--", u] for u in restart]:
            rc, out, err = module.run_command(command)
            if rc != 0:
                module.fail_json(msg="%s failed after moving the overrides to %s: %s"
                                 % (" ".join(command[1:]), p["backup_dir"], err.strip()), findings=findings)
    module.exit_json(changed=bool(paths), findings=findings, restarted=restart if not module.check_mode else [],
                     diff={"before": {"overrides": paths}, "after": {"overrides": []}})


if __name__ == "__main__":
    main()
