"""Helpers the scenarios' testinfra tests share."""
import contextlib
import fcntl
import json
import os
import subprocess
import tempfile


def run_converge(host, playbook, *options, plain=False, **extra):
    """Run a scenario's converge playbook again against one host with extra variables (and
    ansible-playbook options such as -vvv), as a user would run a deploy; returns (rc, output).
    With Mitogen's strategy where scripts/test offers it (PRODREADY_MITOGEN_STRATEGIES, as for
    the converge steps: about half the time), except with plain=True: what plain Ansible prints."""
    args = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook),
            "--limit", host.backend.get_hostname(), "-e", json.dumps(extra), *options]
    env = dict(os.environ)
    if os.environ.get("PRODREADY_MITOGEN_STRATEGIES") and not plain:
        env.update(ANSIBLE_STRATEGY="prodready.vps.mitogen_linear")
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    return run.returncode, run.stdout + run.stderr


@contextlib.contextmanager
def hold(name, exclusive=False):
    """A lock the verify workers share (one worker per platform, running side by side): a test
    that disturbs what another host's tests measure (reloads a firewall they probe) holds it
    exclusively, the measuring tests hold it shared, so neither sees the other halfway."""
    scenario = os.environ.get("MOLECULE_SCENARIO_NAME", "default")
    path = os.path.join(tempfile.gettempdir(), f"prodready-{scenario}-{name}.lock")
    with open(path, "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def address(container):
    """A test container's address on the docker network, as the other containers reach it."""
    return subprocess.check_output(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container],
        text=True).strip()


def bridge_gateway():
    """This machine's address on docker's default bridge (where the containers reach services the
    tests start on the controller). Docker lists it as the bridge's IPAM gateway, except that some
    engines (Debian's 20.10 on a new machine) leave that empty: then it is the bridge device's own
    address."""
    gateway = subprocess.check_output(
        ["docker", "network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"],
        text=True).strip()
    if gateway:
        return gateway
    device = subprocess.check_output(
        ["docker", "network", "inspect", "bridge", "--format", '{{index .Options "com.docker.network.bridge.name"}}'],
        text=True).strip() or "docker0"
    shown = subprocess.check_output(["ip", "-4", "-o", "addr", "show", "dev", device], text=True).split()
    return shown[shown.index("inet") + 1].split("/")[0]


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["bridge-gateway"]:
        print(bridge_gateway())
    else:
        sys.exit("usage: helpers.py bridge-gateway")
