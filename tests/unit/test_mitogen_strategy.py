"""plugins/strategy/mitogen_linear.py (issue 25): Mitogen's strategy with the list of installed
collections read once per run, not once per task; the same paths, and a clear message without Mitogen."""
import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from repo import ROOT

planner = pytest.importorskip("ansible_mitogen.planner")   # requirements.txt installs mitogen

from ansible_collections.prodready.vps.plugins.strategy import mitogen_linear  # noqa: E402  pylint: disable=wrong-import-position


def test_the_list_is_read_once_and_gives_mitogens_paths(monkeypatch):
    import ansible.collections.list as collections_list   # pylint: disable=import-outside-toplevel
    calls = []

    def listing():
        calls.append(1)
        return iter([b"/c/ansible_collections/community/general", b"/c/ansible_collections/prodready/vps"])

    monkeypatch.setattr(collections_list, "list_collection_dirs", listing)
    mitogen_linear.collection_dirs.cache_clear()
    upstream = SimpleNamespace(_extra_sys_paths=set())
    planner._load_collections(upstream)          # Mitogen's own, as shipped (not patched here)
    calls.clear()
    ours = [SimpleNamespace(_extra_sys_paths=set()) for _ in range(3)]
    for invocation in ours:
        mitogen_linear._load_collections(invocation)     # pylint: disable=protected-access
    assert len(calls) == 1
    assert all(i._extra_sys_paths == upstream._extra_sys_paths for i in ours)   # pylint: disable=protected-access
    assert upstream._extra_sys_paths == {"/c/ansible_collections/community/general",   # pylint: disable=protected-access
                                         "/c/ansible_collections/prodready/vps"}
    mitogen_linear.collection_dirs.cache_clear()     # the next test reads the real list


def test_the_strategy_is_mitogens_and_patches_the_planner(monkeypatch):
    import ansible_mitogen.strategy   # pylint: disable=import-outside-toplevel
    assert issubclass(mitogen_linear.StrategyModule, ansible_mitogen.strategy.StrategyMixin)
    original = planner._load_collections
    try:
        mitogen_linear._patch_planner()      # pylint: disable=protected-access
        assert planner._load_collections is mitogen_linear._load_collections   # pylint: disable=protected-access
    finally:
        monkeypatch.setattr(planner, "_load_collections", original)


def test_without_mitogen_the_run_stops_with_a_message(monkeypatch):
    from ansible.errors import AnsibleError   # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(mitogen_linear, "MITOGEN_IMPORT_ERROR", ImportError("No module named 'ansible_mitogen'"))
    with pytest.raises(AnsibleError, match="pip install mitogen"):
        mitogen_linear.StrategyModule(None)


GC_PROBE = """
import gc
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        return {"frozen": gc.get_freeze_count()}
"""


def test_a_play_runs_collection_modules_with_it(tmp_path):
    """Found by its name, with no strategy_plugins folder: three tasks from collections, one host.
    Its workers freeze what they inherit (an action plugin runs in the worker); a later play with
    Ansible's own linear strategy gets workers as before."""
    target = tmp_path / "out"
    book = tmp_path / "play.yml"
    (tmp_path / "action_plugins").mkdir()
    (tmp_path / "action_plugins" / "gc_probe.py").write_text(GC_PROBE)
    book.write_text(textwrap.dedent(f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: A file from this collection's module
              prodready.vps.files:
                files: [{{path: "{target}", content: "one\\n", owner: "{os.getuid()}", group: "{os.getgid()}"}}]
            - name: The same again (no change)
              prodready.vps.files:
                files: [{{path: "{target}", content: "one\\n", owner: "{os.getuid()}", group: "{os.getgid()}"}}]
            - name: A module from another collection
              community.general.ini_file:
                path: "{tmp_path}/x.ini"
                section: a
                option: b
                value: c
                mode: "0600"
            - name: What the worker's garbage collector leaves out
              gc_probe:
              register: ours
            - name: Keep it for the next play
              ansible.builtin.set_fact:
                frozen_ours: "{{{{ ours.frozen }}}}"

        - hosts: localhost
          gather_facts: false
          strategy: ansible.builtin.linear
          tasks:
            - name: The same with Ansible's linear strategy
              gc_probe:
              register: theirs
            - name: Both counts
              ansible.builtin.debug:
                msg: "{{{{ frozen_ours }}}} {{{{ theirs.frozen }}}}"
    """))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_STRATEGY="prodready.vps.mitogen_linear", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_DEPRECATION_WARNINGS="false")
    env.pop("ANSIBLE_STRATEGY_PLUGINS", None)
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(book),
                           "-e", f"ansible_python_interpreter={sys.executable}"], env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.index("{"):])
    stats = report["stats"]["localhost"]
    assert (stats["ok"], stats["changed"]) == (7, 2)
    assert target.read_text() == "one\n"
    ours, theirs = map(int, report["plays"][1]["tasks"][1]["hosts"]["localhost"]["msg"].split())
    assert ours > 1000 and theirs == 0, (ours, theirs)
