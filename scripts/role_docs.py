#!/usr/bin/env python3
"""Writes each role README's variable table from its meta/argument_specs.yml.

The table sits between the markers below; everything else in the README is hand-written.
    scripts/role_docs.py            rewrite every roles/*/README.md table
    scripts/role_docs.py --check    exit 1 if a table is out of date (the tests call render())
"""
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml by scripts/role_docs.py) -->"
END = "<!-- END VARIABLES -->"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(option):
    if option.get("required"):
        return "**required**"
    if "default" not in option:
        return ""
    value = option["default"]
    if isinstance(value, (dict, list)):
        dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    else:
        dumped = yaml.safe_dump(value, default_style=None).strip().removesuffix("...").strip()
    return f"`{_cell(dumped)}`"


def render(role_dir):
    """The variable table of one role, as markdown."""
    spec = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
    lines = [BEGIN, "", "| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, option in spec["argument_specs"]["main"].get("options", {}).items():
        kind = option.get("type", "str")
        if kind == "list" and "elements" in option:
            kind = f"list of {option['elements']}"
        if "choices" in option:
            kind += " (" + ", ".join(str(c) for c in option["choices"]) + ")"
        desc = option.get("description", "")
        if isinstance(desc, list):
            desc = " ".join(desc)
        lines.append(f"| `{name}` | {_cell(kind)} | {_default(option)} | {_cell(desc)} |")
    lines += ["", END]
    return "\n".join(lines)


def updated_readme(role_dir):
    """The README text with its table replaced (or appended when the markers are missing)."""
    path = role_dir / "README.md"
    text = path.read_text() if path.exists() else f"# Role `{role_dir.name}`\n"
    table = render(role_dir)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + table + tail
    return text.rstrip("\n") + "\n\n## Variables\n\n" + table + "\n"


def main(argv):
    stale = []
    for role_dir in sorted((ROOT / "roles").iterdir()):
        if not (role_dir / "meta" / "argument_specs.yml").exists():
            continue
        new = updated_readme(role_dir)
        path = role_dir / "README.md"
        if not path.exists() or path.read_text() != new:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(new)
    for path in stale:
        print(("out of date: " if "--check" in argv else "updated: ") + str(path))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
