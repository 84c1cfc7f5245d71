# Copyright: prodready engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a role's call of common's packages entry point has anything to do (issue 25).

Each role installs its packages with include_role {name: prodready.vps.common, tasks_from:
packages}. On a converged host that call only reads that nothing is missing and sets the same
facts again: an include, its argument validation and three tasks, for each role of the run. The
roles guard the include with this test instead, so a run that finds every package installed
skips it as one task:

    when: common_install is prodready.vps.apt_work(common_installed_packages | default(none),
                                                   common_packages_pending | default(false))

The call still runs when its answer could differ from "nothing to do": before this run has read
dpkg's list (installed is none), while an earlier call left the check-mode boundary open
(pending: it is set again for this role's packages), or when a name is not in the list (missing,
or asked for by a version or a virtual package name, which only apt can settle)."""

from __future__ import annotations

from ansible.errors import AnsibleTemplateError


def apt_work(wanted, installed=None, pending=False):
    """True when the packages entry point must run for the packages in wanted."""
    if not isinstance(wanted, (list, tuple)):
        raise AnsibleTemplateError(f"apt_work: the packages must be a list of names (got {wanted!r})")
    if installed is None or pending:
        return True
    have = set(installed)
    return any(name not in have for name in wanted)


class TestModule:
    def tests(self):
        return {"apt_work": apt_work}
