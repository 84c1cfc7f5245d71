#!/usr/bin/env python3
"""Benchmark 2 of issue 13: how the drift check's time grows with the number of hosts.

Starts 8 container hosts reached over SSH on 127.0.0.1 (scripts/local-hosts, with an inventory of
its own under .cache/bench-drift: every host in the cache group, so each gets common, security,
logrotate and redis from site.yml), converges them, then runs scripts/drift-check against 1, 4
and 8 of them. For each: wall time, controller CPU (the ansible processes' user + system time),
the hosts' CPU (every bench container's, from its cgroup: the hosts share this machine's cores
with the controller, which a real fleet does not), the share of the machine's cores both used
(100%: the run waited for CPU, not for the hosts), the peak memory of the controller's process
tree (sum of RSS), and the exit code (0: no drift).
Then, with Mitogen, the check of every host once more with ansible-playbook's main process under
cProfile: where the one process that queues every task for every host spends its time, and how
much of it is os.fork (Ansible forks a worker per task and host; on this machine a fork costs
more the more memory the main process holds, which the fork calibration printed beside it shows).
Prints the tables and writes bench/results/drift_scale.json; removes its hosts when done.

    .venv/bin/python bench/drift_scale.py [--hosts 8] [--keep] [--no-profile]
"""
import argparse
import configparser
import json
import mmap
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "bench-drift"
INVENTORY = WORK / "inventory"
LOCAL = ROOT / "inventories" / "local"
FIRST_PORT = 2211


def sh(*args, env=None, check=True):
    run = subprocess.run(args, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                         check=False)
    if check and run.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return run


def write_inventory(count):
    """N hosts in the cache group; group_vars are the demo's (linked), secrets generated here."""
    (INVENTORY / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    lines = ["---", "# bench/drift_scale.py's hosts (scripts/local-hosts starts them).", "all:",
             "  children:", "    cache:", "      hosts:"]
    for i in range(1, count + 1):
        lines += [f"        bench{i}:", f"          ansible_port: {FIRST_PORT + i - 1}"]
    (INVENTORY / "hosts.yml").write_text("\n".join(lines) + "\n")
    for src, dest in ((LOCAL / "group_vars" / "all" / "main.yml", INVENTORY / "group_vars" / "all" / "main.yml"),
                      (LOCAL / "group_vars" / "cache", INVENTORY / "group_vars" / "cache")):
        if not dest.is_symlink():
            dest.symlink_to(src)


def tree_rss_kb(root_pid):
    """Sum of RSS of root_pid and its descendants (kB), from /proc."""
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def hosts_cpu_s(names):
    """CPU seconds the bench containers have used so far, from their cgroups (v1 or v2); None if unknown."""
    ids = sh("docker", "inspect", "--format", "{{.Id}}", *[f"prodready-local-{n}" for n in names],
             check=False).stdout.split()
    total = 0.0
    for cid in ids:
        for path, scale in ((f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage", 1e-9),
                            (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat", 1e-6),
                            (f"/sys/fs/cgroup/docker/{cid}/cpu.stat", 1e-6)):
            try:
                text = Path(path).read_text()
            except OSError:
                continue
            value = text.split()[1] if text.startswith("usage_usec") else text.split()[0]
            total += int(value) * scale
            break
        else:
            return None
    return total if ids else None


def measured(args, names=()):
    """Run a command; (returncode, wall s, CPU s of it and its children, peak tree RSS MB, output,
    CPU s the hosts used meanwhile or None)."""
    hosts_before = hosts_cpu_s(names)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.monotonic() - start
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    hosts_after = hosts_cpu_s(names)
    hosts = None if hosts_before is None or hosts_after is None else round(hosts_after - hosts_before, 1)
    return proc.returncode, round(wall, 1), round(cpu, 1), round(peak[0] / 1024), out, hosts


def fork_ms(extra_mb, rounds=40):
    """Milliseconds a fork (with the child's exit and the wait) takes here while this process
    holds extra_mb more anonymous memory, touched: the cost Ansible pays per task and host."""
    held = mmap.mmap(-1, max(extra_mb, 1) << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for offset in range(0, len(held), mmap.PAGESIZE):
        held[offset] = 1
    start = time.perf_counter()
    for _ in range(rounds):
        pid = os.fork()
        if pid == 0:
            os._exit(0)     # pylint: disable=protected-access
        os.waitpid(pid, 0)
    held.close()
    return (time.perf_counter() - start) / rounds * 1000


def main_process_profile(names):
    """The Mitogen drift check of these hosts again, as scripts/drift-check runs ansible-playbook,
    with the main process under cProfile. The workers it forks inherit the profiler, so this run is
    slower than the timed ones, but they leave by os._exit and write no profile. cProfile slows the
    Python code, not a system call, so fork's share of the main process's time is a lower bound."""
    prof, reports = WORK / "main.prof", tempfile.mkdtemp(prefix="bench-drift-")
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_STRATEGY": "prodready.vps.mitogen_linear",
           "ANSIBLE_CALLBACKS_ENABLED": "prodready.vps.drift", "PRODREADY_DRIFT_REPORT_DIR": reports,
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
    run = sh(str(ROOT / ".venv/bin/python"), "-m", "cProfile", "-o", str(prof), str(ROOT / ".venv/bin/ansible-playbook"),
             "playbooks/drift_check.yml", "-i", str(INVENTORY), "--check", "--diff", "--limit", ",".join(names), env=env)
    stats = pstats.Stats(str(prof)).stats    # {(file, line, name): (calls, calls, own s, cumulative s, callers)}
    total = sum(own for _, _, own, _, _ in stats.values())
    # Blocked, not working: sleeping between polls of the results, and reading from a pipe.
    waiting = sum(own for (_, _, name), (_, _, own, _, _) in stats.items()
                  if name in ("<built-in method time.sleep>", "<built-in method posix.read>",
                              "<method 'acquire' of '_thread.lock' objects>"))
    fork = next(((calls, own) for (_, _, name), (calls, _, own, _, _) in stats.items()
                 if name == "<built-in method posix.fork>"), (0, 0.0))
    top = sorted(((own, calls, f"{os.path.basename(path)}:{line} {name}")
                  for (path, line, name), (calls, _, own, _, _) in stats.items()), reverse=True)[:8]
    tasks = len(re.findall(r"^(?:ok|changed|skipping|included): \[", run.stdout, re.M))
    return {"hosts": len(names), "main_thread_s": round(total, 1), "waiting_s": round(waiting, 1),
            "working_s": round(total - waiting, 1), "forks": fork[0], "fork_s": round(fork[1], 1),
            "host_task_results": tasks, "top_own_s": [(round(o, 2), c, n) for o, c, n in top]}


def dash(value, unit=""):
    return "-" if value is None else f"{value}{unit}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    parser.add_argument("--mitogen", choices=("auto", "on", "off", "both"), default="both",
                        help="the drift check's strategy (both: each count with and without Mitogen)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the profile of the main process (a run more of every host, with Mitogen)")
    opts = parser.parse_args()
    counts = sorted({1, max(1, opts.hosts // 2), opts.hosts})
    names = [f"bench{i}" for i in range(1, opts.hosts + 1)]
    write_inventory(opts.hosts)
    env = {"PRODREADY_LOCAL_INVENTORY": str(INVENTORY)}
    try:
        sh(str(ROOT / ".venv/bin/python"), "scripts/local-hosts", "up", env=env)
        converge = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(INVENTORY), "site.yml"]
        rc, converge_s, converge_cpu, _, out, _ = measured(converge)
        (WORK / "converge.log").write_text(out)
        if rc != 0:
            sys.exit(f"site.yml failed on the bench hosts (logs in {WORK}):\n{out[-4000:]}")
        rows = []
        for mode in (("off", "on") if opts.mitogen == "both" else (opts.mitogen,)):
            for n in counts:
                reports = tempfile.mkdtemp(prefix="bench-drift-")
                rc, wall, cpu, rss, out, hosts_cpu = measured(
                    [str(ROOT / "scripts/drift-check"), "-q", "-i", str(INVENTORY), "--reports", reports,
                     "--mitogen", mode, "--limit", ",".join(names[:n])], names)
                if rc != 0:
                    sys.exit(f"drift check of {n} host(s) exited {rc} (0 expected on converged hosts):\n{out[-4000:]}")
                busy = None if hosts_cpu is None else round(100 * (cpu + hosts_cpu) / (wall * os.cpu_count()))
                rows.append({"hosts": n, "mitogen": mode, "seconds": wall, "controller_cpu_s": cpu,
                             "hosts_cpu_s": hosts_cpu, "cores_busy_pct": busy,
                             "controller_peak_rss_mb": rss, "seconds_per_host": round(wall / n, 1)})
        profile = main_process_profile(names) if opts.profile and opts.mitogen != "off" else None
    finally:
        if not opts.keep:
            sh("docker", "rm", "-f", *[f"prodready-local-{n}" for n in names], check=False)
    print(f"site.yml on {opts.hosts} new hosts (common, security, logrotate, redis): "
          f"{converge_s} s wall, {converge_cpu} s controller CPU")
    print(f"\n{'mitogen':>7}  {'hosts':>5}  {'wall s':>7}  {'x 1 host':>8}  {'s/host':>6}  {'ctl CPU s':>9}  "
          f"{'hosts CPU s':>11}  {'cores busy':>10}  {'ctl RSS MB':>10}")
    for r in rows:
        base = next(b["seconds"] for b in rows if b["mitogen"] == r["mitogen"])
        print(f"{r['mitogen']:>7}  {r['hosts']:>5}  {r['seconds']:>7}  {r['seconds'] / base:>8.2f}  "
              f"{r['seconds_per_host']:>6}  {r['controller_cpu_s']:>9}  {dash(r['hosts_cpu_s']):>11}  "
              f"{dash(r['cores_busy_pct'], '%'):>10}  {r['controller_peak_rss_mb']:>10}")
    # The shortest time the largest run could take here: all the CPU it used (controller and hosts,
    # which share this machine's cores) spread over every core with none idle.
    for mode in dict.fromkeys(r["mitogen"] for r in rows):
        one, most = (next(r for r in rows if r["mitogen"] == mode and r["hosts"] == n) for n in (1, opts.hosts))
        if most["hosts_cpu_s"] is not None and opts.hosts > 1:
            bound = (most["controller_cpu_s"] + most["hosts_cpu_s"]) / os.cpu_count()
            print(f"mitogen {mode}: {opts.hosts} hosts cannot take less than {bound:.1f} s on {os.cpu_count()} cores "
                  f"(all their CPU, no core idle) = {bound / one['seconds']:.2f} x 1 host; without the hosts' CPU "
                  f"(a real fleet) {most['controller_cpu_s'] / os.cpu_count():.1f} s = "
                  f"{most['controller_cpu_s'] / os.cpu_count() / one['seconds']:.2f} x")
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    print(f"\n(forks {cfg.get('defaults', 'forks', fallback='5')} from ansible.cfg; {os.cpu_count()} cores here)")
    calibration = None
    if profile:
        calibration = {mb: round(fork_ms(mb), 2) for mb in (10, 100)}
        p = profile
        print(f"\nMitogen, {p['hosts']} hosts, ansible-playbook's main process under cProfile "
              f"({p['host_task_results']} task results): main thread {p['main_thread_s']} s, "
              f"{p['waiting_s']} s of it waiting (sleep, pipe reads, locks), {p['working_s']} s working")
        print(f"  os.fork: {p['forks']} forks, {p['fork_s']} s "
              f"({1000 * p['fork_s'] / max(p['forks'], 1):.1f} ms each; "
              f"{100 * p['fork_s'] / max(p['working_s'], 0.1):.0f}% of the working time)")
        print(f"  a fork here, with its exit and wait: {calibration[10]} ms with 10 MB more memory, "
              f"{calibration[100]} ms with 100 MB more")
        print("  largest own times (s, calls, function):")
        for own, calls, name in p["top_own_s"]:
            print(f"    {own:>7}  {calls:>7}  {name}")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "drift_scale.json").write_text(json.dumps(
        {"converge": {"hosts": opts.hosts, "seconds": converge_s, "controller_cpu_s": converge_cpu},
         "drift_check": rows, "cores": os.cpu_count(), "main_process_profile": profile,
         "fork_ms_by_extra_mb": calibration}, indent=1) + "\n")


if __name__ == "__main__":
    main()
