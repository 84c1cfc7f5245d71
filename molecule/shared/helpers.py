"""Helpers the scenarios' testinfra tests share."""
import json
import os
import subprocess


def run_converge(host, playbook, *options, **extra):
    """Run a scenario's converge playbook again against one host with extra variables (and
    ansible-playbook options such as -vvv), as a user would run a deploy; returns (rc, output)."""
    args = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook),
            "--limit", host.backend.get_hostname(), "-e", json.dumps(extra), *options]
    run = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
    return run.returncode, run.stdout + run.stderr


def address(container):
    """A test container's address on the docker network, as the other containers reach it."""
    return subprocess.check_output(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container],
        text=True).strip()
