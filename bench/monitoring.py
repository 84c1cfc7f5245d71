#!/usr/bin/env python3
"""What the monitoring stack (issue 14) costs on the host it runs on.

Starts one container host over SSH on 127.0.0.1 (scripts/local-hosts, with an inventory of its
own under .cache/bench-monitoring: the demo's single-VPS setup plus the `monitor` group on the
same host), converges site.yml, lets Prometheus scrape for --minutes, then reads each process's
resident memory (RSS) inside the host, the targets Prometheus sees up, the health probe's result
and the size of Prometheus's data. Prints a table, writes bench/results/monitoring.json and
removes its host when done.

    .venv/bin/python bench/monitoring.py [--minutes 3] [--keep]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "bench-monitoring"
INVENTORY = WORK / "inventory"
LOCAL = ROOT / "inventories" / "local"
HOST, PORT = "mon1", 2231
CONTAINER = f"prodready-local-{HOST}"
ENV = {"PRODREADY_LOCAL_INVENTORY": str(INVENTORY)}
# The binaries of the stack: the monitoring host's three, then the exporters every host runs.
PROCESSES = ["prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter",
             "prometheus-node-exporter", "prometheus-mysqld-exporter", "prometheus-redis-exporter",
             "prometheus-nginx-exporter"]
GROUP_VARS = {
    "monitor": {
        # Nothing listens there: the bench measures the stack, not the delivery of alerts.
        "monitoring_webhook_urls": ["http://127.0.0.1:9199/alerts"],
        # The demo site keeps its self-signed certificate.
        "monitoring_probe_insecure": True,
    },
    "db": {"mysql_monitoring_user": "exporter", "mysql_monitoring_password": "{{ vault_mysql_monitoring_password }}"},
}


def sh(*args, check=True):
    run = subprocess.run(args, cwd=ROOT, env={**os.environ, **ENV}, capture_output=True, text=True, check=False)
    if check and run.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({run.returncode}):\n{run.stdout[-4000:]}{run.stderr[-3000:]}")
    return run


def write_inventory():
    """The demo's hosts.yml with the host renamed and a monitor group; the demo's group_vars linked."""
    hosts = {"all": {"children": {group: {"hosts": {HOST: None}}
                                  for group in ("lb", "app", "db", "cache", "control", "monitor")}}}
    hosts["all"]["children"]["lb"]["hosts"][HOST] = {"ansible_port": PORT}
    INVENTORY.mkdir(parents=True, exist_ok=True)
    (INVENTORY / "hosts.yml").write_text("---\n# bench/monitoring.py's host (scripts/local-hosts starts it).\n"
                                         + json.dumps(hosts, indent=2) + "\n")
    for group in ("all", "app", "cache", "db", "lb", "monitor"):
        folder = INVENTORY / "group_vars" / group
        folder.mkdir(parents=True, exist_ok=True)
        demo = LOCAL / "group_vars" / group / "main.yml"
        if demo.exists() and not (folder / "main.yml").is_symlink():
            (folder / "main.yml").symlink_to(demo)
        if group in GROUP_VARS:
            (folder / "bench.yml").write_text("---\n" + json.dumps(GROUP_VARS[group], indent=2) + "\n")


def in_host(script):
    """Runs a Python script inside the host and returns its JSON output."""
    return json.loads(sh("docker", "exec", CONTAINER, "python3", "-c", script).stdout)


RSS = """
import json, os
out = {}
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        exe = os.path.basename(os.readlink(f'/proc/{pid}/exe'))
        rss = [l for l in open(f'/proc/{pid}/status') if l.startswith('VmRSS:')][0].split()[1]
    except (OSError, IndexError):
        continue
    out[exe] = out.get(exe, 0) + int(rss)
print(json.dumps(out))
"""

PROMETHEUS = """
import json, os, urllib.request
get = lambda path: json.load(urllib.request.urlopen('http://127.0.0.1:9090' + path, timeout=10))['data']
targets = get('/api/v1/targets')['activeTargets']
probe = get('/api/v1/query?query=probe_success')['result']
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk('/var/lib/prometheus/metrics2') for f in fs)
print(json.dumps({'targets': {t['labels']['job']: t['health'] for t in targets},
                  'probe': {r['metric']['instance']: r['value'][1] for r in probe}, 'tsdb_bytes': size}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3, help="scraping time before the figures are read")
    parser.add_argument("--keep", action="store_true", help="leave the host running")
    opts = parser.parse_args()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    sh(str(ROOT / ".venv/bin/python"), "tests/fixtures/apps/pack.py", "tests/fixtures/apps/node-sample",
       ".cache/demo/shop.tar.gz")
    write_inventory()
    try:
        sh(str(ROOT / ".venv/bin/python"), "scripts/local-hosts", "up")
        start = time.monotonic()
        sh(str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(INVENTORY), "site.yml")
        print(f"site.yml with monitoring: {time.monotonic() - start:.0f} s; scraping for {opts.minutes} min",
              flush=True)
        time.sleep(opts.minutes * 60)
        rss = in_host(RSS)
        seen = in_host(PROMETHEUS)
        total = sum(rss.get(p, 0) for p in PROCESSES)
        meminfo = {p: round(rss.get(p, 0) / 1024, 1) for p in PROCESSES}
    finally:
        if not opts.keep:
            sh(str(ROOT / ".venv/bin/python"), "scripts/local-hosts", "down", check=False)

    print(f"\nmonitoring stack on a single-VPS host after {opts.minutes} min of scraping (RSS, MB)\n")
    for process, mb in meminfo.items():
        print(f"{process:<32} {mb:>8}")
    print(f"{'total':<32} {total / 1024:>8.1f}")
    for name in ("mariadbd", "redis-server", "nginx", "node"):
        if name in rss:
            print(f"{'(for scale) ' + name:<32} {rss[name] / 1024:>8.1f}")
    print(f"\nPrometheus data after {opts.minutes} min: {seen['tsdb_bytes'] / 1e6:.1f} MB")
    print("targets: " + ", ".join(f"{job} {health}" for job, health in sorted(seen["targets"].items())))
    print("health probe: " + ", ".join(f"{url} {'ok' if ok == '1' else 'FAILING'}" for url, ok in seen["probe"].items()))
    out = {"minutes": opts.minutes, "rss_mb": meminfo, "total_mb": round(total / 1024, 1),
           "others_mb": {k: round(v / 1024, 1) for k, v in rss.items() if k not in PROCESSES}, **seen}
    (ROOT / "bench" / "results" / "monitoring.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
