"""prodready-drift-check as a user runs it: clear errors before anything is written, options it
does not know passed on to ansible-playbook, and secrets masked in ansible.log. A stand-in
ansible-playbook on PATH records its arguments and writes the report the callback would."""
import json
import os
import subprocess
import sys

import pytest

from repo import ROOT

PROGRAM = str(ROOT / "roles" / "drift_check" / "files" / "prodready-drift-check")

FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_ARGS"
echo 'ok: [web1] => DATABASE_URL=mysql://shop:prtestsecret-urlpw@db1/shop'
echo 'REDIS_PASSWORD=prtestsecret-envpw'
cat > "$PRODREADY_DRIFT_REPORT_DIR/drift.json" <<'JSON'
{"summary": {"ok": ["web1"], "drift": [], "failed": [], "unreachable": []}, "hosts": {"web1": {}}}
JSON
"""


@pytest.fixture
def env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ansible-playbook"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {}\n")
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_ARGS": str(tmp_path / "args"), "inv": str(inv),
            "reports": str(tmp_path / "reports"), "tmp": tmp_path}


def run(env, *args, path=None):
    cmd = [sys.executable, PROGRAM, "--project", str(ROOT), "--reports", env["reports"], "-q", "-i", env["inv"], *args]
    e = dict(os.environ, PATH=path or env["PATH"], FAKE_ARGS=env["FAKE_ARGS"])
    return subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=60, check=False)


def test_options_it_does_not_know_go_to_ansible_playbook_in_order(env):
    done = run(env, "--tags", "redis", "-e", "a=1", "--forks=3", "--", "--skip-tags", "nginx")
    assert done.returncode == 0, done.stderr
    args = open(env["FAKE_ARGS"]).read().split("\n")
    assert args[-6:-1] == ["-e", "a=1", "--forks=3", "--skip-tags", "nginx"]
    assert args[args.index("--tags") + 1] == "redis" and "--check" in args


def test_ansible_log_masks_secrets(env):
    assert run(env).returncode == 0
    log = open(os.path.join(env["reports"], "latest", "ansible.log")).read()
    assert "prtestsecret" not in log and "mysql://shop:********@db1" in log


@pytest.mark.parametrize("args, message", [
    (["--vault-password-file", "/nonexistent/vault-pass"], "does not exist"),
    (["--config", "/nonexistent/drift-check.json"], "cannot read the config file"),
])
def test_a_missing_file_is_a_message_before_anything_is_written(env, args, message):
    done = run(env, *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not os.path.exists(env["reports"])


def test_no_ansible_playbook_is_a_message_and_no_empty_run_folder(env):
    done = run(env, path="/nonexistent")
    assert done.returncode == 2 and "ansible-playbook is not on PATH" in done.stderr
    assert "Traceback" not in done.stderr and not os.path.exists(env["reports"])


# A stand-in ansible-playbook in Python: the interpreter named in its first line is the one the
# program asks for Mitogen, as with a real one installed by pip.
FAKE_PY = """#!PYTHON
import os, sys
with open(os.environ["FAKE_ARGS"], "w") as f:
    f.write(os.environ.get("ANSIBLE_STRATEGY", "") + "\\n" + os.environ.get("ANSIBLE_STRATEGY_PLUGINS", "") + "\\n")
with open(os.path.join(os.environ["PRODREADY_DRIFT_REPORT_DIR"], "drift.json"), "w") as f:
    f.write('{"summary": {"ok": ["web1"], "drift": [], "failed": [], "unreachable": []}, "hosts": {"web1": {}}}')
"""


def python_fake(env, python):
    (env["tmp"] / "bin" / "ansible-playbook").write_text(FAKE_PY.replace("PYTHON", str(python), 1))


def test_mitogen_is_used_when_the_ansible_python_has_it(env):
    pytest.importorskip("ansible_mitogen")      # requirements.txt installs it in the venv
    python_fake(env, sys.executable)
    done = run(env)
    assert done.returncode == 0 and "(mitogen)" in done.stdout, done.stdout + done.stderr
    strategy = open(env["FAKE_ARGS"]).read().split("\n")[0]
    # The collection's strategy, found by its name (plugins/strategy/mitogen_linear.py).
    assert strategy == "prodready.vps.mitogen_linear"
    assert os.path.isfile(os.path.join(ROOT, "plugins", "strategy", "mitogen_linear.py"))
    log = open(os.path.join(env["reports"], "latest", "ansible.log")).read()
    assert log.startswith("# strategy: prodready.vps.mitogen_linear")
    assert run(env, "--mitogen", "off").returncode == 0
    assert open(env["FAKE_ARGS"]).read().split("\n")[0] == ""


def test_without_mitogen_auto_runs_plain_and_on_is_a_message(env, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python_fake(env, bare / "bin" / "python")
    done = run(env)
    assert done.returncode == 0 and "(mitogen)" not in done.stdout, done.stdout + done.stderr
    assert open(env["FAKE_ARGS"]).read().split("\n")[0] == ""
    done = run(env, "--mitogen", "on")
    assert done.returncode == 2 and "cannot import ansible_mitogen" in done.stderr and "Traceback" not in done.stderr
