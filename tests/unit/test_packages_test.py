"""plugins/test/packages.py: a role's include of common's packages entry point runs only when it
has something to do (issue 25), and every role's include is guarded by it."""
import importlib.util
import re

import pytest
import yaml
from ansible.errors import AnsibleTemplateError

from repo import ROOT

spec = importlib.util.spec_from_file_location("packages", ROOT / "plugins" / "test" / "packages.py")
packages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(packages)
apt_work = packages.apt_work


def test_nothing_to_do_when_every_package_is_installed():
    assert apt_work(["nginx", "curl"], ["curl", "nginx", "tzdata"]) is False
    assert apt_work([], ["curl"]) is False


def test_a_missing_package_or_a_name_dpkg_does_not_list_runs_the_include():
    assert apt_work(["nginx", "redis-server"], ["nginx"]) is True
    assert apt_work(["nginx=1.26.3-3"], ["nginx"]) is True      # a version: only apt can settle it


def test_it_runs_before_dpkg_was_read_and_while_the_check_mode_boundary_is_open():
    assert apt_work(["nginx"], None) is True
    assert apt_work(["nginx"], ["nginx"], True) is True


def test_a_string_is_refused_not_read_letter_by_letter():
    with pytest.raises(AnsibleTemplateError, match="list of names"):
        apt_work("nginx", ["n", "g", "i", "x"])


def test_every_role_guards_its_include_of_the_packages_entry_point():
    includes = []
    for path in sorted((ROOT / "roles").glob("*/tasks/*.yml")):
        if path.parts[-3] == "common":
            continue
        for task in yaml.safe_load(path.read_text()) or []:
            args = task.get("ansible.builtin.include_role") or {}
            if args.get("tasks_from") == "packages":
                includes.append(path)
                assert re.search(r"common_install is prodready\.vps\.apt_work\(", str(task.get("when"))), path
    assert len(includes) >= 12
