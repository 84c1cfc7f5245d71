"""plugins/test/packages.py: a role's include of common's packages entry point runs only when it
has something to do (issue 25), and every role's include is guarded by it."""
import importlib.util
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError, AnsibleTemplateError

from repo import ROOT

spec = importlib.util.spec_from_file_location("packages", ROOT / "plugins" / "test" / "packages.py")
packages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(packages)
apt_work = packages.apt_work
spec = importlib.util.spec_from_file_location("packages_filter", ROOT / "plugins" / "filter" / "packages.py")
packages_filter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(packages_filter)
dpkg_installed = packages_filter.dpkg_installed


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


def test_only_installed_packages_are_named_from_dpkg_query_lines():
    lines = ["installed nginx", "config-files apache2", "half-installed redis-server", "installed libc6:amd64",
             "not-installed mysql-server", "", "installed"]
    assert dpkg_installed(lines) == ["nginx", "libc6:amd64"]
    assert apt_work(["nginx", "apache2"], dpkg_installed(lines)) is True     # config-files is not installed
    with pytest.raises(AnsibleFilterError, match="as a list"):
        dpkg_installed("installed nginx")


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
