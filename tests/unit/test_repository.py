"""Repository-wide rules: no plaintext vault, inventories parse, site.yml only imports playbooks."""
import ipaddress
import json
import subprocess

import yaml

from repo import ROOT


def _ansible(*args):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_every_committed_vault_file_is_encrypted():
    tracked = subprocess.run(["git", "ls-files", "*vault.yml", "*vault.yaml"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    for path in tracked:
        head = (ROOT / path).read_text().splitlines()[:1]
        assert head and head[0].startswith("$ANSIBLE_VAULT;"), f"{path} is committed unencrypted"


def test_prod_inventory_has_the_scaled_topology():
    res = _ansible("ansible-inventory", "-i", "inventories/prod", "--list")
    assert res.returncode == 0, res.stderr
    inv = json.loads(res.stdout)
    for group in ("db", "cache", "app", "lb", "control"):
        assert inv.get(group, {}).get("hosts"), f"inventories/prod has no hosts in group {group}"
    assert len(inv["app"]["hosts"]) == 2
    # The control host (a key into every host, the vault password) and the monitor are a private
    # host of their own, in no group that serves the public (#26 item 1).
    hostvars = inv["_meta"]["hostvars"]
    public = {h for g in ("lb", "app", "db", "cache") for h in inv[g]["hosts"]}
    for group in ("control", "monitor"):
        for host in inv[group]["hosts"]:
            assert host not in public, f"{group} host {host} also serves the site"
            address = ipaddress.ip_address(hostvars[host]["ansible_host"])
            assert address.is_private, f"{group} host {host} has a public address {address}"


def test_site_only_imports_playbooks_that_exist():
    plays = yaml.safe_load((ROOT / "site.yml").read_text())
    for play in plays:
        assert set(play) <= {"name", "ansible.builtin.import_playbook"}, play
        assert (ROOT / play["ansible.builtin.import_playbook"]).exists()


def test_site_passes_syntax_check_against_both_inventories():
    for inventory in ("inventories/prod", "inventories/local"):
        res = _ansible("ansible-playbook", "-i", inventory, "site.yml", "--syntax-check")
        assert res.returncode == 0, res.stdout + res.stderr


def test_no_scenario_redefines_the_test_container():
    """What a test container is lives in molecule/shared/container.yml (create.yml starts it);
    a platform names only its container and what is its own (#27 item 4)."""
    own = {"name", "image", "groups", "capabilities", "networks", "docker_networks"}
    files = [ROOT / ".config/molecule/config.yml", *sorted(ROOT.glob("molecule/*/molecule.yml"))]
    for path in files:
        data = yaml.safe_load(path.read_text()) or {}
        for platform in data.get("platforms") or []:
            extra = set(platform) - own
            assert not extra, f"{path.relative_to(ROOT)}: {platform['name']} sets {sorted(extra)}"
            assert platform["image"] in ("prodready/debian:13", "prodready/debian:12"), platform
    config = yaml.safe_load((ROOT / ".config/molecule/config.yml").read_text())
    assert config["ansible"]["playbooks"]["create"] == "../shared/create.yml"
    assert not any(((yaml.safe_load(p.read_text()) or {}).get("ansible") or {}).get("playbooks", {}).get("create")
                   for p in ROOT.glob("molecule/*/molecule.yml")), "a scenario creates its containers its own way"


def test_no_playbook_applies_a_role_under_a_condition_each_of_its_tasks_would_evaluate():
    """A `when` on a role under `roles:` is copied to every task of the role: on a host where it is
    false each task still runs as a skip (issue 25: 22 for postgresql, 10 for the exporters). A
    conditional role is included instead, and skips as one task."""
    conditional = []
    for path in sorted((ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(path.read_text()) or []:
            for role in play.get("roles") or []:
                if isinstance(role, dict) and "when" in role:
                    conditional.append(f"{path.name}: {role.get('role') or role.get('name')}")
    assert not conditional, conditional


def test_each_role_installs_the_list_common_can_plan_for_it():
    """common installs the packages of the host's other roles first (the lookup
    prodready.vps.role_packages reads each role's __<role>_packages): a role must install that same
    list, or the plan and the role would differ."""
    calls = {}
    for path in sorted((ROOT / "roles").glob("*/tasks/*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            if (task.get("ansible.builtin.include_role") or {}).get("tasks_from") == "packages":
                calls.setdefault(path.parts[-3], []).append(task["vars"]["common_install"])
    assert len(calls) >= 12, calls
    for role, lists in calls.items():
        assert lists == ["{{ __%s_packages }}" % role], (role, lists)
        assert f"__{role}_packages" in yaml.safe_load((ROOT / "roles" / role / "vars" / "main.yml").read_text())
    # Every role with packages is in the plan; what may not come early, the role itself says
    # (__<role>_packages_early), not the playbook.
    planned = yaml.safe_load((ROOT / "playbooks" / "common.yml").read_text())[0]["roles"][0]["vars"]
    for role in calls:
        if role != "common":
            assert f"'{role}'" in planned["common_packages_of_roles"], role
    assert "flavour" not in planned["common_packages_of_roles"]
