#!/usr/bin/env python3
"""Where a no-change run of site.yml spends its time (issue 25's profile), by role and by task.

On the demo host (inventories/local; started and converged first when it is not running), one
no-change run with each strategy (plain Ansible, then Mitogen's mitogen_linear) under
ansible.posix's profile_tasks. Prints, per role, the tasks that ran (ok, changed or skipped) and
their seconds, then the slowest tasks; with a converged host, a task's seconds are what it costs
to find out that nothing is to be done. Writes bench/results/profile.json.

    .venv/bin/python bench/profile.py          (after `make setup`; leaves the demo host running)
    .venv/bin/python bench/profile.py --down   (removes the demo host afterwards)
    .venv/bin/python bench/profile.py --check  (profiles `site.yml --check --diff` instead;
                                                writes bench/results/profile-check.json)
"""
import collections
import json
import os
import re
import sys

import converge as bench  # bench/converge.py: the demo host, site(), Mitogen's strategy

PROFILE = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
           "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all", "PROFILE_TASKS_SORT_ORDER": "none"}
# profile_tasks' summary lines: "<role> : <task> ---- 0.52s", or "<task> ---- 0.52s" in a play.
LINE = re.compile(r"^(?:(?P<role>[\w.]+) : )?(?P<task>.+?) -+ (?P<secs>\d+\.\d+)s$")


CHECK = "--check" in sys.argv[1:]
RUN = "--check --diff run" if CHECK else "no-change run"


def profile(extra_env):
    """One no-change run under profile_tasks: the run's figures and [(role, task, seconds)]."""
    run, out = bench.site({**extra_env, **PROFILE}, *(("--check", "--diff") if CHECK else ()), output=True)
    summary = out.split("=" * 20)[-1]
    tasks = [(m["role"] or "(play)", m["task"].strip(), float(m["secs"]))
             for m in map(LINE.match, summary.splitlines()) if m]
    return run, tasks


def main():
    bench.sh("mkdir", "-p", ".cache/demo", "bench/results")
    bench.sh(bench.PY, "tests/fixtures/apps/pack.py", "tests/fixtures/apps/node-sample", ".cache/demo/shop.tar.gz")
    state = bench.sh("docker", "inspect", "-f", "{{.State.Running}}", bench.CONTAINER, check=False).stdout.strip()
    if state != "true":
        bench.fresh_host()
        bench.site({})
    else:
        bench.site({})      # whatever ran before, the host is converged for the runs below
    results = {}
    for name, env in (("linear", {}), ("mitogen_linear", bench.mitogen())):
        run, tasks = profile(env)
        if run["changed"]:
            sys.exit(f"{name}: the {RUN} changed {run['changed']} task(s)")
        roles = collections.OrderedDict()
        for role, _, secs in tasks:
            count, total = roles.get(role, (0, 0.0))
            roles[role] = (count + 1, total + secs)
        results[name] = {"run": run, "roles": roles, "tasks": tasks}

    print(f"\nsite.yml, {RUN} on the demo host: plain {results['linear']['run']['seconds']} s, "
          f"Mitogen {results['mitogen_linear']['run']['seconds']} s (profile_tasks on; "
          f"{results['linear']['run']['ok']} tasks ok)")
    print(f"\n{'role':<34} {'tasks':>6} {'plain s':>8} {'s/task':>7} {'Mitogen s':>10} {'s/task':>7}")
    plain, mito = results["linear"]["roles"], results["mitogen_linear"]["roles"]
    for role in sorted(plain, key=lambda r: -plain[r][1]):
        n, secs = plain[role]
        m = mito.get(role, (0, 0.0))[1]
        print(f"{role:<34} {n:>6} {secs:>8.1f} {secs / n:>7.2f} {m:>10.1f} {m / n:>7.2f}")
    n = sum(c for c, _ in plain.values())
    print(f"{'all':<34} {n:>6} {sum(s for _, s in plain.values()):>8.1f} {'':>7} "
          f"{sum(s for _, s in mito.values()):>10.1f}")
    print("\nslowest tasks, plain (s):")
    for role, task, secs in sorted(results["linear"]["tasks"], key=lambda t: -t[2])[:15]:
        print(f"  {secs:6.2f}  {role} : {task}")
    (bench.ROOT / "bench/results").mkdir(exist_ok=True)
    (bench.ROOT / f"bench/results/profile{'-check' if CHECK else ''}.json").write_text(json.dumps(
        {k: {"run": v["run"], "roles": {r: {"tasks": c, "seconds": round(s, 2)} for r, (c, s) in v["roles"].items()},
             "tasks": v["tasks"]} for k, v in results.items()}, indent=2) + "\n")
    if "--down" in sys.argv[1:]:
        bench.sh(bench.PY, "scripts/local-hosts", "down")


if __name__ == "__main__":
    os.chdir(bench.ROOT)
    main()
