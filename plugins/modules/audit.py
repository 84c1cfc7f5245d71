#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the audit action (it runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: audit
short_description: Report drift findings that tasks computed from what a daemon runs with
description:
  - Takes findings computed from live readings (C(sshd -T), C(nft list ruleset), C(systemctl show),
    ...) by this collection's filters (C(sshd_findings), C(nft_findings)), and reports them so the
    drift report of the C(prodready.vps.drift) callback names each one with its kind and before and after.
  - In check mode findings are drift (RV(drift)); in a normal run they are shown, and the tasks after
    it repair them, or, with O(fail_msg), the run stops naming them.
  - Runs on the controller, with no connection to the host.
version_added: 0.2.0
author: prodready engineers (@prodready)
options:
  findings:
    description:
      - The findings, each with C(kind) (V(live setting), V(effective config), V(added), V(removed) or
        V(file)), C(what), C(before) and C(after).
    type: list
    elements: dict
    default: []
  fail_msg:
    description: Stop a normal run when there is a finding, with this message followed by the findings.
    type: str
attributes:
  check_mode:
    support: full
    description: Reports the findings as drift.
  diff_mode:
    support: none
    description: Findings carry their own before and after.
"""

EXAMPLES = r"""
- name: Report sshd settings that differ from the declared ones
  prodready.vps.audit:
    findings: "{{ sshd_t.stdout | prodready.vps.sshd_findings({'passwordauthentication': 'no'}) }}"
    fail_msg: sshd does not run with the declared settings
"""

RETURN = r"""
findings:
  description: The findings, as given.
  returned: always
  type: list
  elements: dict
drift:
  description: There were findings and this is a check-mode run.
  returned: always
  type: bool
"""
