"""Every role keeps the contract users rely on: argument_specs and defaults agree, names are
prefixed, required inputs have no default, the README table is current, a scenario tests it."""
import re

import pytest
import yaml

import role_docs
from repo import ROOT, roles

ROLES = roles()
IDS = [r.name for r in ROLES]


def _load(path):
    return yaml.safe_load(path.read_text()) if path.exists() else None


def _options(role):
    spec = _load(role / "meta" / "argument_specs.yml")
    assert spec and "main" in spec["argument_specs"], f"{role.name}: meta/argument_specs.yml needs a main entry"
    return spec["argument_specs"]["main"].get("options", {})


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_defaults_and_specs_agree_key_by_key_and_value_by_value(role):
    defaults = _load(role / "defaults" / "main.yml") or {}
    options = _options(role)
    undocumented = sorted(set(defaults) - set(options))
    assert not undocumented, f"{role.name}: defaults without an argument_specs entry: {undocumented}"
    for name, option in options.items():
        if option.get("required"):
            assert name not in defaults, f"{role.name}: required {name} must have no line in defaults/main.yml"
            assert "default" not in option, f"{role.name}: required {name} must have no default in the spec"
            continue
        assert name in defaults, f"{role.name}: {name} is optional in argument_specs but has no default"
        value = defaults[name]
        templated = isinstance(value, str) and "{{" in value
        if templated:
            # A default computed from other variables is documented in words, not as a value.
            assert "default" not in option, f"{role.name}: {name}'s default is templated; drop it from the spec"
        else:
            assert "default" in option, f"{role.name}: {name} has no default in argument_specs"
            assert option["default"] == value, (
                f"{role.name}: {name} defaults to {value!r} but argument_specs says {option['default']!r}")


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_every_option_is_typed_described_and_prefixed(role):
    for name, option in _options(role).items():
        assert name.startswith(f"{role.name}_"), f"{role.name}: {name} must start with {role.name}_"
        assert option.get("type"), f"{role.name}: {name} has no type"
        assert option.get("description"), f"{role.name}: {name} has no description"
        if option.get("type") == "list":
            assert option.get("elements"), f"{role.name}: list {name} needs elements:"
        if "choices" in option and "default" in option:
            assert option["default"] in option["choices"], f"{role.name}: {name} default is not a choice"


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_internal_vars_never_shadow_user_inputs(role):
    for path in (role / "vars").glob("*.yml"):
        for name in _load(path) or {}:
            assert name.startswith(f"__{role.name}_"), (
                f"{role.name}: {path.name} sets {name}; role vars beat inventory, so internal names "
                f"start with __{role.name}_")


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_readme_variable_table_is_generated_from_specs(role):
    readme = role / "README.md"
    assert readme.exists(), f"{role.name}: README.md is missing"
    assert readme.read_text() == role_docs.updated_readme(role), (
        f"{role.name}: README variable table is stale: run scripts/role_docs.py")


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_role_has_a_molecule_scenario_with_real_tests(role):
    # A scenario named for the role, or one whose converge applies it (nginx and certbot share one).
    scenarios = [p for p in (ROOT / "molecule").iterdir() if (p / "molecule.yml").exists() and (
        p.name.startswith(role.name)
        or f"prodready.vps.{role.name}\n" in ((p / "converge.yml").read_text() if (p / "converge.yml").exists() else "")
        or applies_site_yml_with(p, role.name))]
    assert scenarios, f"{role.name}: no molecule scenario applies it"
    tests = [t for s in scenarios for t in (s / "tests").glob("test_*.py")]
    asserts = sum(t.read_text().count("assert") for t in tests)
    assert asserts >= 3, f"{role.name}: its scenarios' testinfra tests assert almost nothing"


def applies_site_yml_with(scenario, role):
    """A scenario whose converge imports site.yml applies every role site.yml's playbooks apply."""
    converge = scenario / "converge.yml"
    if not converge.exists() or "site.yml" not in converge.read_text():
        return False
    return any(f"prodready.vps.{role}\n" in p.read_text() for p in (ROOT / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_templates_carry_ansible_managed_and_no_timestamp(role):
    for tpl in (role / "templates").rglob("*.j2"):
        text = tpl.read_text()
        if tpl.name.startswith("_"):   # a fragment other templates include
            continue
        lines = text.splitlines()
        first = lines[1] if lines[0].startswith("#!") else lines[0]   # after a script's shebang
        assert "ansible_managed" in first, f"{tpl.relative_to(ROOT)}: first line must be ansible_managed"
        assert not re.search(r"ansible_date_time|now\(", text), f"{tpl.relative_to(ROOT)}: no timestamps"


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_task_names_are_prefixed_with_their_file(role):
    for path in (role / "tasks").glob("*.yml"):
        if path.name == "main.yml":
            continue
        prefix = path.stem.capitalize() + " | "
        # A part of another file that only it includes (packages_missing.yml of packages.yml)
        # carries that file's prefix: the report's "Packages | ..." leads to packages*.yml.
        parent = path.with_name(path.stem.split("_")[0] + ".yml")
        if parent != path and parent.exists():
            prefix = parent.stem.capitalize() + " | "
        for task in _walk(_load(path) or []):
            # Acronyms keep their case: "SSH | " for ssh.yml.
            assert task.get("name", "").lower().startswith(prefix.lower()), (
                f"{role.name}/tasks/{path.name}: task {task.get('name')!r} should start with {prefix!r}")


def _walk(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk(task.get(key, []))
