#!/usr/bin/env python3
"""The converge playbook under --check --diff on the converged hosts must change nothing.

Run by check_changes_nothing.yml, the side_effect step of every scenario's test_sequence
(.config/molecule/config.yml), with Molecule's environment: its inventory, ansible.cfg and
collections. Prints the run as it went, then exits 1 naming each task that reported a change on
a host (on stderr, which is the verdict alone), the way Molecule's idempotence step does for a
second run.
"""
import os
import re
import subprocess
import sys

scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
# The ansible-playbook beside this Python (the venv's); PRODREADY_ANSIBLE_PLAYBOOK for its tests.
playbook = (os.environ.get("PRODREADY_ANSIBLE_PLAYBOOK")
            or os.path.join(os.path.dirname(sys.executable), "ansible-playbook"))
argv = [playbook, "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--check", "--diff",
        os.path.join(scenario, "converge.yml")]
run = subprocess.run(argv, capture_output=True, text=True, check=False)
print(run.stdout)
print(run.stderr)
task, changed = None, []
for line in run.stdout.splitlines():
    header = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
    if header:
        task = header.group(1)
    hit = re.match(r"^changed: \[([^\]]+)\]", line)
    if hit:
        changed.append(f"* [{hit.group(1)}] => {task}")
if run.returncode != 0:
    sys.exit(f"the check-mode run failed (exit {run.returncode})")
if changed:
    sys.exit("check mode on the converged hosts would change:\n" + "\n".join(changed))
