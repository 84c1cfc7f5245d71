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
Prints a table and writes bench/results/drift_scale.json; removes its hosts when done.

    .venv/bin/python bench/drift_scale.py [--hosts 8] [--keep]
"""
import argparse
import configparser
import json
import os
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


def dash(value, unit=""):
    return "-" if value is None else f"{value}{unit}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    parser.add_argument("--mitogen", choices=("auto", "on", "off", "both"), default="both",
                        help="the drift check's strategy (both: each count with and without Mitogen)")
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
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    print(f"\n(forks {cfg.get('defaults', 'forks', fallback='5')} from ansible.cfg; {os.cpu_count()} cores here)")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "drift_scale.json").write_text(json.dumps(
        {"converge": {"hosts": opts.hosts, "seconds": converge_s, "controller_cpu_s": converge_cpu},
         "drift_check": rows, "cores": os.cpu_count()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
