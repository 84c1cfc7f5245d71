# Copyright: prodready engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of the installed packages, from dpkg-query's list (issue 25).

common's packages entry point reads `dpkg-query --show --showformat='${db:Status-Status}
${Package}\\n'` once per host and run, and keeps the names of the installed ones. Done with
select('match') and map('regex_replace') that took 0.1-0.2 s per evaluation on ~650 lines, and
the entry point evaluates it more than once."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def dpkg_installed(lines):
    """The package names whose status is "installed" (not config-files, half-installed, ...)."""
    if isinstance(lines, str) or not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError(f"dpkg_installed: expects dpkg-query's lines as a list (got {type(lines).__name__})")
    names = []
    for line in lines:
        words = str(line).split()
        if len(words) == 2 and words[0] == "installed":
            names.append(words[1])
    return names


class FilterModule:
    def filters(self):
        return {"dpkg_installed": dpkg_installed}
