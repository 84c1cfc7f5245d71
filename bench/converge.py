#!/usr/bin/env python3
"""Benchmarks 1 of issues 13 and 25: how long site.yml takes on a new single-VPS host.

On a freshly started demo host (inventories/local): a first run (fresh converge) and an immediate
second run with the repo's ansible.cfg, with their changed counts; the no-change run, --check --diff
and scripts/drift-check, each with plain Ansible and with Mitogen's strategy. The floor is one
`apt-get install` of the same packages, in one transaction, on another fresh host; the table gives
fresh converge / floor. Mitogen's strategy is the collection's prodready.vps.mitogen_linear; one
no-change run and one --check --diff with Mitogen's own mitogen_linear show what it changes. A
task that does nothing (ansible.builtin.ping with become, as the roles' tasks run) is timed with
each strategy: what every task of a run costs at least, whatever it does. A
fixed pure-Python loop is timed before and after (the machine's speed: this VM's varies by a
quarter from hour to hour, and every figure moves with it). With --levers, also a no-change run
with each of the repo's speed settings turned off alone (pipelining; ControlPersist; fact
gathering once per run) and all three off: those runs raise the security role's SSH rate limit
through its variable (without ControlPersist each task is a new connection, and the limit of 10 a
minute would throttle them), and the cost of that limit is measured apart, on the common role's
tasks. Writes bench/results/converge.json.

    .venv/bin/python bench/converge.py          (after `make setup`; removes the demo host)
    .venv/bin/python bench/converge.py --levers (also each lever off alone, all three off, and
                                                 the SSH rate limit's cost without ControlPersist)
    .venv/bin/python bench/converge.py --levers --fresh-all-off
                                                (also a fresh converge with all levers off, on
                                                 a new host, throttled by the SSH rate limit:
                                                 an hour or more)
    .venv/bin/python bench/converge.py --fresh-mitogen
                                                (also a fresh converge with Mitogen's strategy on
                                                 a new host, against the same floor: 5 minutes more)
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
# Each lever as the repo's ansible.cfg sets it, turned off.
LEVERS = {
    "pipelining off": {"ANSIBLE_PIPELINING": "False"},
    # ssh_args without ControlMaster/ControlPersist: a new SSH connection per task.
    "ControlPersist off": {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ServerAliveInterval=15"},
    # Facts gathered again by every play of site.yml instead of once per host and run.
    "gathering implicit": {"ANSIBLE_GATHERING": "implicit"},
}
ALL_OFF = {k: v for env in LEVERS.values() for k, v in env.items()}


def mitogen():
    """Mitogen's strategy as the README turns it on (requirements.txt installs mitogen): the
    collection's prodready.vps.mitogen_linear, found by its name."""
    import ansible_mitogen      # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    return {"ANSIBLE_STRATEGY": "prodready.vps.mitogen_linear"}


def mitogen_upstream():
    """Mitogen's own mitogen_linear, from its strategy plugin folder (for comparison)."""
    import ansible_mitogen      # pylint: disable=import-outside-toplevel
    return {"ANSIBLE_STRATEGY": "mitogen_linear",
            "ANSIBLE_STRATEGY_PLUGINS": os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")}


def cpu_probe():
    """Seconds a fixed pure-Python loop takes (best of three): the machine's speed at that moment."""
    best = None
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best or 1e9, time.perf_counter() - start)
    return round(best, 3)


def sh(*args, env=None, check=True):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=check)


def fresh_host():
    sh(PY, "scripts/local-hosts", "down")
    sh(PY, "scripts/local-hosts", "up")


def site(extra_env, *args, output=False, book="site.yml"):
    """site.yml (or another playbook) on the demo host: its seconds, ok and changed counts (and its
    output if asked)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), **extra_env}
    start = time.monotonic()
    run = sh(str(ROOT / ".venv/bin/ansible-playbook"), "-i", "inventories/local", book, *args, env=env,
             check=False)
    seconds = time.monotonic() - start
    recap = re.search(r"vps1\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", run.stdout)
    if run.returncode != 0 or not recap:
        sys.exit(f"{book} failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    figures = {"seconds": round(seconds, 1), "ok": int(recap[1]), "changed": int(recap[2])}
    return (figures, run.stdout) if output else figures


def drift_check(mode):
    """scripts/drift-check against the demo host: (seconds, exit code)."""
    start = time.monotonic()
    run = sh("scripts/drift-check", "-q", "--mitogen", mode, "--reports", str(ROOT / ".cache/bench-drift-reports"),
             "-i", "inventories/local", check=False)
    if run.returncode not in (0, 2):
        sys.exit(f"drift-check failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return {"seconds": round(time.monotonic() - start, 1), "exit": run.returncode}


# The security role's firewall allows 10 new SSH connections a minute from one source, the
# controller's included; a run without ControlPersist opens one a task. The role's live audit puts
# its ruleset back when a rule is added beside it, so the lever runs raise the limit through the
# role's own variable instead (an untimed converge applies it first).
RAISED_RATE = ["-e", "security_firewall_ssh_rate=6000/minute"]


def task_floor(extra_env, few=10, many=110):
    """Seconds one task costs on the demo host when it does nothing: playbooks of `few` and `many`
    ansible.builtin.ping tasks with become, no facts; their difference over many - few leaves out
    the start of ansible-playbook and the connection."""
    seconds = {}
    for count in (few, many):
        book = ROOT / ".cache" / f"bench-ping-{count}.yml"
        book.write_text("---\n- name: Tasks that do nothing\n  hosts: all\n  gather_facts: false\n  become: true\n"
                        "  tasks:\n" + "".join(f"    - name: Ping {i}\n      ansible.builtin.ping:\n"
                                               for i in range(count)))
        seconds[count] = site(extra_env, book=str(book))["seconds"]
    return round((seconds[many] - seconds[few]) / (many - few), 3)


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
    levers = "--levers" in sys.argv[1:]
    fresh_all_off = "--fresh-all-off" in sys.argv[1:]
    fresh_mitogen = "--fresh-mitogen" in sys.argv[1:]
    sh("mkdir", "-p", ".cache/demo", "bench/results")
    sh(PY, "tests/fixtures/apps/pack.py", "tests/fixtures/apps/node-sample", ".cache/demo/shop.tar.gz")
    probe = {"before": cpu_probe()}
    fresh_host()
    runs = {"repo ansible.cfg": {"fresh": site({})}}
    packages = installed_packages()
    runs["repo ansible.cfg"]["second"] = site({})
    report("repo ansible.cfg", runs["repo ansible.cfg"])
    # The same no-change run, --check --diff and the drift check, with and without Mitogen.
    runs["mitogen_linear"] = {"second": site(mitogen())}
    report("mitogen_linear", runs["mitogen_linear"])
    checks = {"linear": {"check": site({}, "--check", "--diff"), "drift_check": drift_check("off")},
              "mitogen_linear": {"check": site(mitogen(), "--check", "--diff"), "drift_check": drift_check("on")}}
    upstream = {"second": site(mitogen_upstream()), "check": site(mitogen_upstream(), "--check", "--diff")}
    per_task = {"linear": task_floor({}), "mitogen_linear": task_floor(mitogen())}
    print("check runs: " + "; ".join(f"{k}: --check --diff {v['check']['seconds']} s (changed {v['check']['changed']}), "
                                      f"drift-check {v['drift_check']['seconds']} s (exit {v['drift_check']['exit']})"
                                      for k, v in checks.items()), flush=True)
    throttle = {}
    if levers:
        # Without ControlPersist every task is a new connection: the cost of the SSH rate limit,
        # on the common role's tasks alone, then each lever off alone and all three off.
        cp_off = LEVERS["ControlPersist off"]
        throttle = {"ControlPersist on": site({}, "--tags", "common"),
                    "ControlPersist off, rate limit on": site(cp_off, "--tags", "common")}
        site({}, *RAISED_RATE)
        throttle["ControlPersist off, rate limit raised"] = site(cp_off, "--tags", "common", *RAISED_RATE)
        print("common role only: " + ", ".join(f"{k} {v['seconds']} s" for k, v in throttle.items()), flush=True)
        runs["repo ansible.cfg, rate raised"] = {"second": site({}, *RAISED_RATE)}
        for name, env in [*LEVERS.items(), ("all three off", ALL_OFF)]:
            runs[name] = {"second": site(env, *RAISED_RATE)}
            report(name, runs[name])
        if fresh_all_off:
            fresh_host()
            runs["all three off"]["fresh"] = site(ALL_OFF, *RAISED_RATE)
            report("all three off", runs["all three off"])
    if fresh_mitogen:
        fresh_host()
        # Mitogen checks host keys strictly (its StrictHostKeyChecking=yes comes before the
        # inventory's accept-new): the new host's key is recorded first, untimed, as a user does
        # once per new host.
        sh(str(ROOT / ".venv/bin/ansible"), "-i", "inventories/local", "vps1", "-m", "ansible.builtin.ping",
           env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
        runs["mitogen_linear"]["fresh"] = site(mitogen())
        report("mitogen_linear", runs["mitogen_linear"])
    apt_floor = floor(packages)
    sh(PY, "scripts/local-hosts", "down")
    probe["after"] = cpu_probe()

    base = runs["repo ansible.cfg"]
    print(f"\nsite.yml on a new Debian 13 host (all groups on one host), {len(packages)} packages requested, "
          f"{base['second']['ok']} tasks ok in the no-change run")
    if levers:
        print(f"lever runs: {' '.join(RAISED_RATE[1:])} (the SSH rate limit would throttle them)")
    print(f"\n{'configuration':<30} {'fresh s':>8} {'changed':>8} {'no-change run s':>16} {'changed':>8} "
          f"{'vs repo cfg':>12}")
    for name, r in runs.items():
        fresh = r.get("fresh", {"seconds": "-", "changed": "-"})
        ratio = r["second"]["seconds"] / base["second"]["seconds"]
        print(f"{name:<30} {fresh['seconds']:>8} {fresh['changed']:>8} {r['second']['seconds']:>16} "
              f"{r['second']['changed']:>8} {ratio:>11.2f}x")
    print(f"{'floor: apt-get install':<30} {apt_floor:>8}")
    for name, r in runs.items():
        if "fresh" in r:
            print(f"{'' if name == 'repo ansible.cfg' else name + ': '}fresh converge / floor: "
                  f"{r['fresh']['seconds'] / apt_floor:.2f}")
    print(f"\n{'strategy':<20} {'no-change s':>12} {'--check --diff s':>17} {'drift-check s':>14}")
    for name in ("linear", "mitogen_linear"):
        second = runs["repo ansible.cfg" if name == "linear" else name]["second"]
        print(f"{name:<20} {second['seconds']:>12} {checks[name]['check']['seconds']:>17} "
              f"{checks[name]['drift_check']['seconds']:>14}")
    print(f"{'Mitogen own strategy':<20} {upstream['second']['seconds']:>12} {upstream['check']['seconds']:>17} "
          f"{'-':>14}   (mitogen_linear from its plugin folder)")
    targets(runs, checks, apt_floor)
    ok = runs["repo ansible.cfg"]["second"]["ok"]
    print(f"\na task that does nothing (ansible.builtin.ping, become) costs {per_task['linear']} s plain and "
          f"{per_task['mitogen_linear']} s with Mitogen: the no-change run's {ok} tasks ok cannot take less than "
          f"{ok * per_task['linear']:.1f} s plain, {ok * per_task['mitogen_linear']:.1f} s with Mitogen")
    print(f"\nmachine speed: a fixed Python loop took {probe['before']} s before the runs, {probe['after']} s after")
    if throttle:
        print("\ncommon role alone, no-change run (the SSH rate limit and ControlPersist):")
        for name, r in throttle.items():
            print(f"  {name:<38} {r['seconds']:>7} s")
    out = {"configs": runs, "checks": checks, "common_only": throttle, "apt_floor_seconds": apt_floor,
           "packages": packages, "mitogen_upstream": upstream, "cpu_probe_s": probe,
           "noop_task_s": per_task}
    (ROOT / "bench/results/converge.json").write_text(json.dumps(out, indent=2) + "\n")


def targets(runs, checks, apt_floor):
    """Issue 25's table: each run with both strategies against its target, and which one meets it."""
    plain, mito = runs["repo ansible.cfg"], runs["mitogen_linear"]
    rows = [("no-change run (changed=0)", plain["second"]["seconds"], mito["second"]["seconds"], 30, "s"),
            ("--check --diff", checks["linear"]["check"]["seconds"], checks["mitogen_linear"]["check"]["seconds"], 25, "s"),
            ("drift check, one host", checks["linear"]["drift_check"]["seconds"],
             checks["mitogen_linear"]["drift_check"]["seconds"], 35, "s")]
    if "fresh" in mito:
        rows.append(("fresh converge / apt floor", round(plain["fresh"]["seconds"] / apt_floor, 2),
                     round(mito["fresh"]["seconds"] / apt_floor, 2), 1.6, "x"))
    print(f"\n{'issue 25 (demo host, SSH)':<28} {'plain':>8} {'Mitogen':>8} {'target':>8}  met by")
    for name, a, b, target, unit in rows:
        met = [n for n, v in (("plain", a), ("Mitogen", b)) if v <= target]
        print(f"{name:<28} {a:>7}{unit} {b:>7}{unit} {'<= ' + str(target) + unit:>8}  {', '.join(met) or 'neither'}")


def report(name, run):
    parts = [f"{kind} {r['seconds']} s (changed {r['changed']})" for kind, r in run.items()]
    print(f"{name}: " + ", ".join(parts), flush=True)


if __name__ == "__main__":
    main()
