#!/usr/bin/env python3
"""Benchmark 1 of issue 13: how long site.yml takes on a new single-VPS host, and what the speed
settings buy.

For each configuration (the repo's ansible.cfg; then pipelining, ControlPersist and fact caching
off), on a freshly started demo host (inventories/local): a first run (fresh converge) and an
immediate second run, with their changed counts. The floor is one `apt-get install` of the same
packages, in one transaction, on another fresh host. Prints a table and writes
bench/results/converge.json.

    .venv/bin/python bench/converge.py          (after `make setup`; removes the demo host)
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv/bin/python")
CONTAINER = "prodready-local-vps1"
CONFIGS = {
    "repo ansible.cfg": {},
    # ssh_args without ControlPersist: a new SSH connection per task.
    "speed settings off": {"ANSIBLE_PIPELINING": "False", "ANSIBLE_SSH_ARGS": "-o ControlMaster=no",
                           "ANSIBLE_GATHERING": "implicit", "ANSIBLE_CACHE_PLUGIN": "memory"},
}


def sh(*args, env=None, check=True):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=check)


def fresh_host():
    sh(PY, "scripts/local-hosts", "down")
    sh(PY, "scripts/local-hosts", "up")


def site(extra_env):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), **extra_env}
    start = time.monotonic()
    run = sh(str(ROOT / ".venv/bin/ansible-playbook"), "-i", "inventories/local", "site.yml", env=env, check=False)
    seconds = time.monotonic() - start
    recap = re.search(r"vps1\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", run.stdout)
    if run.returncode != 0 or not recap:
        sys.exit(f"site.yml failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "ok": int(recap[1]), "changed": int(recap[2])}


def installed_packages():
    """The packages the roles asked apt for, from the host's apt history."""
    history = sh("docker", "exec", CONTAINER, "cat", "/var/log/apt/history.log").stdout
    names = set()
    for line in history.splitlines():
        if line.startswith("Commandline:") and " install " in line:
            words = line.split(" install ", 1)[1].split()
            # Skip options and their values (-o APT::Install-Recommends=no).
            names.update(w.split("=")[0] for i, w in enumerate(words)
                         if not w.startswith("-") and (i == 0 or words[i - 1] != "-o") and "::" not in w)
    return sorted(names)


def floor(packages):
    fresh_host()
    start = time.monotonic()
    sh("docker", "exec", CONTAINER, "sh", "-c",
       "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
       + " ".join(packages) + " >/dev/null")
    return round(time.monotonic() - start, 1)


def main():
    sh("mkdir", "-p", ".cache/demo", "bench/results")
    sh(PY, "tests/fixtures/apps/pack.py", "tests/fixtures/apps/node-sample", ".cache/demo/shop.tar.gz")
    results, packages = {}, None
    for name, env in CONFIGS.items():
        fresh_host()
        first = site(env)
        packages = packages or installed_packages()
        second = site(env)
        results[name] = {"fresh": first, "second": second}
        print(f"{name}: fresh {first['seconds']} s (changed {first['changed']}), "
              f"second {second['seconds']} s (changed {second['changed']})", flush=True)
    apt_floor = floor(packages)
    sh(PY, "scripts/local-hosts", "down")
    base = results["repo ansible.cfg"]
    print(f"\nsite.yml on a new Debian 13 host (all groups on one host), {len(packages)} packages requested\n")
    print(f"{'configuration':<22} {'fresh s':>8} {'changed':>8} {'second s':>9} {'changed':>8} {'fresh/floor':>12}")
    for name, r in results.items():
        print(f"{name:<22} {r['fresh']['seconds']:>8} {r['fresh']['changed']:>8} {r['second']['seconds']:>9} "
              f"{r['second']['changed']:>8} {r['fresh']['seconds'] / apt_floor:>12.2f}")
    print(f"{'floor: apt-get install':<22} {apt_floor:>8}")
    print(f"\nspeed settings save {results['speed settings off']['second']['seconds'] - base['second']['seconds']:.1f} s "
          "on a second run")
    out = {"configs": results, "apt_floor_seconds": apt_floor, "packages": packages}
    (ROOT / "bench/results/converge.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
