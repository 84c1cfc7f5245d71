"""plugins/modules/files.py: several files, folders and links in one call (issue 25), checked before
anything is written, idempotent, honest in check mode, and reported per path in the drift report."""
import json
import os
import stat
import subprocess
import sys
import textwrap
from types import SimpleNamespace

from repo import ROOT

from ansible_collections.prodready.vps.plugins.callback import drift

TASK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Configure | Keep the files
      prodready.vps.files:
        mode: "0640"
        files: {files}
"""


def run(tmp_path, files, *args):
    book = tmp_path / "play.yml"
    book.write_text(textwrap.dedent(TASK).format(files=json.dumps(files)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(book),
                          "-e", f"ansible_python_interpreter={sys.executable}", *args], env=env,
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    return out.returncode, json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def declared(tmp_path):
    return [
        {"path": f"{tmp_path}/etc", "state": "directory", "mode": "0700"},
        {"path": f"{tmp_path}/etc/banner", "content": "Authorised access only.\n", "mode": "0644"},
        {"path": f"{tmp_path}/etc/settings", "content": "a=1\nb=2\n"},
        {"path": f"{tmp_path}/etc/current", "state": "link", "src": "settings"},
        {"path": f"{tmp_path}/crontab", "mode": "0600"},
        {"path": f"{tmp_path}/cron.d", "state": "present", "mode": "0700"},
        {"path": f"{tmp_path}/old.conf", "state": "absent"},
    ]


def mode(path):
    return oct(stat.S_IMODE(os.lstat(path).st_mode))


def test_check_mode_then_a_run_then_nothing_to_do(tmp_path):
    (tmp_path / "cron.d").mkdir(mode=0o755)
    (tmp_path / "crontab").write_text("# m h dom mon dow\n")
    (tmp_path / "crontab").chmod(0o644)
    (tmp_path / "old.conf").write_text("left over\n")
    rc, res = run(tmp_path, declared(tmp_path), "--check", "--diff")
    assert rc == 0 and res["changed"]
    assert [f["changed"] for f in res["files"]] == [True] * 7
    assert not (tmp_path / "etc").exists() and (tmp_path / "old.conf").exists()
    assert mode(tmp_path / "crontab") == "0o644"
    rc, res = run(tmp_path, declared(tmp_path))
    assert rc == 0 and res["changed"]
    assert mode(tmp_path / "etc") == "0o700" and mode(tmp_path / "etc/banner") == "0o644"
    assert (tmp_path / "etc/settings").read_text() == "a=1\nb=2\n" and mode(tmp_path / "etc/settings") == "0o640"
    assert os.readlink(tmp_path / "etc/current") == "settings"
    assert mode(tmp_path / "cron.d") == "0o700"
    assert mode(tmp_path / "crontab") == "0o600" and (tmp_path / "crontab").read_text() == "# m h dom mon dow\n"
    assert not (tmp_path / "old.conf").exists()
    assert not [p for p in os.listdir(tmp_path / "etc") if p.startswith(".prodready")]
    rc, res = run(tmp_path, declared(tmp_path), "--diff")
    assert rc == 0 and not res["changed"] and not res["diff"]
    rc, res = run(tmp_path, declared(tmp_path), "--check", "--diff")
    assert rc == 0 and not res["changed"]


def test_drift_is_reported_per_path_and_left_alone_in_check_mode(tmp_path):
    (tmp_path / "crontab").write_text("")
    (tmp_path / "cron.d").mkdir()
    assert run(tmp_path, declared(tmp_path))[0] == 0
    (tmp_path / "etc/settings").write_text("a=1\nb=3\n")
    (tmp_path / "etc/banner").chmod(0o666)
    (tmp_path / "etc/current").unlink()
    (tmp_path / "old.conf").write_text("added beside\n")
    rc, res = run(tmp_path, declared(tmp_path), "--check", "--diff")
    assert rc == 0 and res["changed"]
    changed = {f["path"].rsplit("/", 1)[-1] for f in res["files"] if f["changed"]}
    assert changed == {"banner", "settings", "current", "old.conf"}
    assert (tmp_path / "etc/settings").read_text() == "a=1\nb=3\n" and mode(tmp_path / "etc/banner") == "0o666"

    callback = drift.CallbackModule()
    task = SimpleNamespace(get_name=lambda: "Configure | Keep the files", action="prodready.vps.files",
                           _role=SimpleNamespace(get_name=lambda include_role_fqcn=False: "security"),
                           loop=None, loop_with=None)
    callback.v2_runner_on_ok(SimpleNamespace(_task=task, _host=SimpleNamespace(get_name=lambda: "h1"), _result=res))
    entries = {e["item"].rsplit("/", 1)[-1]: e for e in callback.hosts["h1"]["changes"]}
    assert set(entries) == {"banner", "settings", "current", "old.conf"}
    assert "-b=3\n+b=2" in entries["settings"]["diff"] and entries["settings"]["kind"] == "file"
    assert "0666" in entries["banner"]["diff"] and "0644" in entries["banner"]["diff"]
    assert entries["current"]["kind"] == "removed" and entries["old.conf"]["kind"] == "added"

    rc, res = run(tmp_path, declared(tmp_path))
    assert rc == 0 and (tmp_path / "etc/settings").read_text() == "a=1\nb=2\n" and not (tmp_path / "old.conf").exists()


def test_bad_entries_fail_before_anything_is_written(tmp_path):
    files = declared(tmp_path)
    files += [{"path": "relative/file", "content": "x"}, {"path": f"{tmp_path}/x", "mode": "644x"},
              {"path": f"{tmp_path}/../escape", "state": "directory"}, {"path": f"{tmp_path}/l", "state": "link"},
              {"path": f"{tmp_path}/etc/banner", "content": "twice"}]
    rc, res = run(tmp_path, files)
    assert rc != 0
    assert "relative/file" in res["msg"] and "'644x' is not an octal mode" in res["msg"]
    assert "must be normal" in res["msg"] and "a link needs it" in res["msg"] and "listed twice" in res["msg"]
    assert not (tmp_path / "etc").exists()


def test_a_folder_where_a_file_belongs_is_an_error_not_a_deletion(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/keep").write_text("kept\n")
    rc, res = run(tmp_path, [{"path": f"{tmp_path}/first", "content": "x\n"},
                             {"path": f"{tmp_path}/conf", "content": "x\n"}])
    assert rc != 0 and "a folder is there, not a file" in res["msg"] and "nothing was changed" in res["msg"]
    assert not (tmp_path / "first").exists()
    rc, res = run(tmp_path, [{"path": f"{tmp_path}/conf", "state": "absent"}])
    assert rc != 0 and "with files in it is not removed" in res["msg"]
    assert (tmp_path / "conf/keep").read_text() == "kept\n"
    rc, res = run(tmp_path, [{"path": f"{tmp_path}/missing", "state": "present", "mode": "0600"}])
    assert rc != 0 and "no such file or folder" in res["msg"]


def test_templates_render_as_the_template_module_and_validate_guards_every_file(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/rotate.j2").write_text(
        "# {{ ansible_managed }}\n{% for p in entry.paths %}\n{{ p }}\n{% endfor %}\n{{ entry.rule }}\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "real.conf").write_text("old\n")
    os.symlink(tmp_path / "real.conf", tmp_path / "conf/linked.conf")
    check = "grep -q '^rotate' %s"

    def entries(rule):
        return [{"path": f"{tmp_path}/conf/a", "template": "rotate.j2", "validate": check,
                 "vars": {"entry": {"paths": ["/var/log/a.log", "/var/log/b.log"], "rule": "rotate 7"}}},
                {"path": f"{tmp_path}/conf/b", "template": "rotate.j2", "validate": check,
                 "vars": {"entry": {"paths": ["/var/log/c.log"], "rule": rule}}},
                {"path": f"{tmp_path}/conf/linked.conf", "content": "new\n", "follow": True}]

    rc, res = run(tmp_path, entries("weekly"))
    assert rc != 0 and f"{tmp_path}/conf/b: 'grep -q '^rotate' %s' rejects the new content" in res["msg"]
    assert sorted(os.listdir(tmp_path / "conf")) == ["linked.conf"] and (tmp_path / "real.conf").read_text() == "old\n"
    rc, res = run(tmp_path, entries("rotate 4"))
    assert rc == 0 and res["changed"]
    text = (tmp_path / "conf/a").read_text()
    assert text.startswith("# Ansible managed") and text.endswith("/var/log/a.log\n/var/log/b.log\nrotate 7\n")
    assert (tmp_path / "conf/b").read_text().endswith("/var/log/c.log\nrotate 4\n")
    assert os.path.islink(tmp_path / "conf/linked.conf") and (tmp_path / "real.conf").read_text() == "new\n"
    rc, res = run(tmp_path, entries("rotate 4"))
    assert rc == 0 and not res["changed"]


def test_a_validate_program_not_installed_yet_is_skipped_in_check_mode_only(tmp_path):
    """A new host under --check has not got logrotate yet: a real run installs it first."""
    entries = [{"path": f"{tmp_path}/rotate", "content": "x\n", "validate": "prodready-no-such-program %s"}]
    rc, res = run(tmp_path, entries, "--check")
    assert rc == 0 and res["changed"] and not (tmp_path / "rotate").exists()
    rc, res = run(tmp_path, entries)
    assert rc != 0 and "'prodready-no-such-program' is not on this host" in res["msg"]
    assert not (tmp_path / "rotate").exists()
