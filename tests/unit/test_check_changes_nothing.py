"""molecule/shared/check_changes_nothing.py, the side_effect step of every scenario: a --check
--diff run on the converged hosts that reports a change fails, naming the host and the task."""
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "molecule" / "shared" / "check_changes_nothing.py"


def run(tmp_path, output, code=0):
    fake = tmp_path / "ansible-playbook"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/argv\ncat <<'OUT'\n{output}\nOUT\nexit {code}\n")
    fake.chmod(0o755)
    env = dict(os.environ, PRODREADY_ANSIBLE_PLAYBOOK=str(fake), MOLECULE_SCENARIO_DIRECTORY="/s",
               MOLECULE_INVENTORY_FILE="/i/hosts")
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=False)


def test_a_run_that_changes_nothing_passes(tmp_path):
    out = run(tmp_path, "TASK [r : A] ***\nok: [h1]\nok: [h2]\n\nPLAY RECAP ***\nh1 : ok=1 changed=0")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "argv").read_text().split() == ["-i", "/i/hosts", "--check", "--diff", "/s/converge.yml"]
    assert "TASK [r : A]" in out.stdout


def test_a_change_fails_naming_host_and_task(tmp_path):
    out = run(tmp_path, "TASK [r : A] ***\nok: [h1]\nTASK [r : Write the file] ***\n--- before\n"
                        "changed: [h2]\nRUNNING HANDLER [r : Restart it] ***\nchanged: [h2]\n")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == ["check mode on the converged hosts would change:",
                                               "* [h2] => r : Write the file", "* [h2] => r : Restart it"]


def test_a_failed_run_fails(tmp_path):
    out = run(tmp_path, "fatal: [h1]: FAILED!", code=2)
    assert out.returncode == 1 and "exit 2" in out.stderr
