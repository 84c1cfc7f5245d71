#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the require action (it runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: require
short_description: Check a role's inputs, every check in one task, each with its own message
description:
  - Evaluates each check's conditions on the controller, in order, like C(ansible.builtin.assert), and
    fails naming every check that does not hold (RV(failures)), so bad input stops a run before anything
    on the host changes.
  - One task for what were many assert tasks, so a role's validation costs one task run, not one per check.
  - A check's O(checks[].msg), O(checks[].when) and O(checks[].loop) are templated only when the check
    is reached, so they may name what exists only when their condition holds; inside a loop the
    element is C(item), and the task's C(vars) may use it.
  - Runs on the controller, with no connection to the host; the same in check mode.
version_added: 0.3.0
author: prodready engineers (@prodready)
options:
  checks:
    description: The checks, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: What the check is about (for the reader; the message says what to change).
        type: str
      that:
        description: Conditions (as in C(when)) that must all hold.
        type: raw
        required: true
      msg:
        description: The message when a condition does not hold; say what to change.
        type: str
        required: true
      when:
        description: Conditions under which the check applies; skipped otherwise.
        type: raw
      loop:
        description: A list; the check runs once for each element, as C(item).
        type: raw
attributes:
  check_mode:
    support: full
    description: The same checks run; nothing on the host is touched either way.
  diff_mode:
    support: none
    description: Nothing to show.
"""

EXAMPLES = r"""
- name: Validate | Check the inputs
  prodready.vps.require:
    checks:
      - name: Check the password
        that: redis_requirepass | length >= 32
        msg: redis_requirepass must be at least 32 characters; generate one with openssl rand -base64 48
      - name: Check the save points
        that: item is match('^[0-9]+ [0-9]+$')
        msg: "redis_save entry '{{ item }}' must be '<seconds> <changes>', like '900 1'"
        loop: "{{ redis_save }}"
"""

RETURN = r"""
failures:
  description: The message of each check that did not hold (one for each loop element that did not).
  returned: failed
  type: list
  elements: str
"""
