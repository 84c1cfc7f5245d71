# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare what a daemon runs with against what the inventory declares: each function turns two
readings into drift findings ({kind, what, before, after}) for prodready.vps.audit to report."""

from __future__ import annotations

import difflib
import re

from ansible.errors import AnsibleFilterError

# sshd -T prints some values in another spelling than sshd_config takes.
_SSHD_SYNONYMS = {"prohibit-password": "without-password"}


def _finding(kind, what, before, after):
    return {"kind": kind, "what": what, "before": before, "after": after}


def sshd_effective(text):
    """`sshd -T` output as {keyword: value}; keywords printed once per element (allowgroups,
    listenaddress, ...) are joined with a space in the order printed."""
    found = {}
    for line in (text or "").splitlines():
        key, value = (line.strip().split(" ", 1) + [""])[:2]
        if key:
            found[key.lower()] = (found[key.lower()] + " " + value.strip()) if key.lower() in found else value.strip()
    return found


def sshd_findings(text, expected):
    """The keywords whose effective value (as `sshd -T` reports it) is not the declared one."""
    if not (text or "").strip():
        raise AnsibleFilterError("sshd -T printed nothing: sshd cannot read its configuration")
    live = sshd_effective(text)
    findings = []
    for key in sorted(expected):
        want = str(expected[key]).strip().lower()
        want = _SSHD_SYNONYMS.get(want, want)
        have = live.get(key.lower())
        if have is None or have.lower() != want:
            findings.append(_finding("effective config", "sshd %s" % key.lower(),
                                     "(not set)" if have is None else have, want))
    return findings


_COUNTER = re.compile(r"\s*counter packets \d+ bytes \d+")
_HANDLE = re.compile(r"\s*# handle \d+")


def nft_table(text, family, name):
    """One table of `nft list ruleset` output, normalised: counters and handles dropped, and the
    elements of dynamic sets (the SSH rate meter fills them at run time) left out. None when the
    table is not there."""
    lines, inside, depth, in_dynamic, skipping = [], False, 0, False, False
    header = "table %s %s {" % (family, name)
    for raw in (text or "").splitlines():
        line = _HANDLE.sub("", _COUNTER.sub(" counter", raw)).rstrip()
        stripped = line.strip()
        if not inside:
            if stripped == header:
                inside, depth = True, 1
                lines.append(stripped)
            continue
        depth += stripped.count("{") - stripped.count("}")
        if stripped.startswith("set ") and stripped.endswith("{"):
            in_dynamic = False
        if stripped.startswith("flags") and "dynamic" in stripped:
            in_dynamic = True
        if in_dynamic and stripped.startswith("elements = {"):
            skipping = not stripped.endswith("}")
            continue
        if skipping:
            skipping = not stripped.endswith("}")
            continue
        lines.append(stripped)
        if depth <= 0:
            break
    return "\n".join(lines) if lines else None


def nft_findings(live, expected, family="inet", name="prodready"):
    """Our table as the kernel runs it against the same table loaded from our file alone (in a
    throw-away network namespace): gone, or different line by line."""
    want = nft_table(expected, family, name)
    if want is None:
        raise AnsibleFilterError("the rendered ruleset has no table %s %s: is /etc/nftables.conf ours?"
                                 % (family, name))
    have = nft_table(live, family, name)
    what = "nftables table %s %s" % (family, name)
    if have is None:
        return [_finding("removed", what, "not loaded (no rule filters traffic)", "loaded from /etc/nftables.conf")]
    if have == want:
        return []
    delta = [ln for ln in difflib.unified_diff(want.splitlines(), have.splitlines(), lineterm="", n=0)
             if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return [_finding("effective config", what, "; ".join(ln[1:].strip() for ln in delta if ln[0] == "+") or "-",
                     "; ".join(ln[1:].strip() for ln in delta if ln[0] == "-") or "-")]


def extra_paths(present, managed, what):
    """Files in a folder we own (enabled nginx sites) that we did not put there."""
    managed = set(managed or [])
    return [_finding("added", "%s %s" % (what, path), "present", "absent")
            for path in sorted(present or []) if path not in managed]


def pg_index_findings(results):
    """Indexes found by name with another definition (table, column list, uniqueness), from the
    results of the postgresql role's index query: the same contract as mysql_index."""
    findings = []
    for result in results or []:
        rows = result.get("query_result") or [{}]
        found, want = rows[0].get("index"), result.get("item") or {}
        if not found:
            continue
        wanted = {"table": str(want.get("table", "")).rsplit(".", maxsplit=1)[-1].lower(),
                  "columns": [str(c).lower() for c in want.get("columns", [])],
                  "unique": bool(want.get("unique", False))}
        have = {"table": str(found.get("table", "")).lower(),
                "columns": [str(c).lower().strip('"') for c in found.get("columns") or []],
                "unique": bool(found.get("unique"))}
        if have != wanted:
            show = "%(table)s (%(cols)s)%(u)s"
            findings.append(_finding(
                "effective config", "index %s in %s" % (want.get("name"), want.get("database")),
                show % dict(table=have["table"], cols=", ".join(have["columns"]), u=" unique" if have["unique"] else ""),
                show % dict(table=wanted["table"], cols=", ".join(wanted["columns"]),
                            u=" unique" if wanted["unique"] else "")))
    return findings


_PG_RIGHTS = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")


def pg_role_findings(rows):
    """Roles nobody declared that hold a global right, from the postgresql role's pg_roles query."""
    if isinstance(rows, dict):           # postgresql_query's answer when no row came back
        return []
    return [_finding("added", "role %s" % row["rolname"],
                     "has " + ", ".join(r[3:].upper() for r in _PG_RIGHTS if row.get(r)), "absent")
            for row in rows or []]


class FilterModule:
    def filters(self):
        return {"sshd_findings": sshd_findings, "nft_findings": nft_findings, "nft_table": nft_table,
                "extra_paths": extra_paths, "pg_index_findings": pg_index_findings,
                "pg_role_findings": pg_role_findings}
