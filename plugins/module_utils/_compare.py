# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Difference between live and desired settings, shared by the modules and the drift check."""

from __future__ import annotations


def plan_changes(live, desired, normalise):
    """Return {name: {"before": live, "after": desired}} for every setting whose normalised
    live value differs from the normalised desired value. `normalise(name, value)` decides
    what "equal" means (units, case, spacing); values are reported as given, not normalised."""
    changes = {}
    for name in sorted(desired):
        if normalise(name, live.get(name)) != normalise(name, desired[name]):
            changes[name] = {"before": live.get(name), "after": desired[name]}
    return changes
