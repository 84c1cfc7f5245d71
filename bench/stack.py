#!/usr/bin/env python3
"""Benchmark 3 of issue 13: the speed of the stack site.yml builds, on the demo host.

Three comparisons, each in one run on the same host (prodready-local-vps1, after `make demo`),
with the load generators on the host itself (docker exec), so both sides of a comparison share
the same two cores and neither pays for docker's port forwarding:

1. wrk: GET /api/health through nginx (HTTPS, keep-alive, the upstream over both app instances)
   vs one app instance directly on 127.0.0.1:3000 (plain HTTP): requests/s and p99 latency.
2. sysbench oltp_read_write on MariaDB with the mysql role's configuration vs the same server
   with Debian's stock configuration (the role's two files moved aside, server restarted, then put
   back and restarted): transactions/s, queries/s and p99 latency.
3. redis-benchmark (SET, GET, INCR, LPUSH) with the role's persistence (AOF everysec plus RDB
   saves) vs persistence off (CONFIG SET through the renamed CONFIG command, then set back to the
   values read before): requests/s and p99 latency.

It installs wrk and sysbench on the demo host, adds shop.localhost to its /etc/hosts while wrk
runs (nginx refuses a TLS handshake without a known name), and leaves the host as it found it
otherwise (the sbtest database and the benchmark's Redis keys are removed). Prints a table and
writes bench/results/stack.json.

    make demo && .venv/bin/python bench/stack.py [--seconds 20]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HOST = "prodready-local-vps1"
SECRETS = ROOT / "inventories" / "local" / "group_vars" / "all" / "generated_secrets.yml"
SITE = "shop.localhost"
MYSQL_CNF = ("/etc/mysql/mariadb.conf.d/60-prodready.cnf", "/etc/mysql/mariadb.conf.d/61-prodready-live.cnf")
SOCKET = "/run/mysqld/mysqld.sock"
HOSTS_LINE = f"127.0.0.1 {SITE} # bench/stack.py"


def on_host(script, env=None, check=True, timeout=900):
    """Run a shell script on the demo host; its stdout. Secrets go in through env (docker exec -e),
    never on the command line here."""
    args = ["docker", "exec"]
    for key in env or {}:
        args += ["-e", key]
    run = subprocess.run(args + [HOST, "bash", "-c", script], capture_output=True, text=True, timeout=timeout,
                         check=False, env={**os.environ, **(env or {})})
    if check and run.returncode != 0:
        sys.exit(f"on {HOST}: {script.splitlines()[0]} ... failed ({run.returncode}):\n"
                 f"{run.stdout[-2000:]}{run.stderr[-2000:]}")
    return run.stdout


def ms(value, unit):
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 3)


def wrk(url, seconds):
    out = on_host(f"wrk -t2 -c32 -d{seconds}s --latency {url}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": round(rps), "p99_ms": ms(p99[1], p99[2]), "non_2xx": int(errors[1]) if errors else 0}


def bench_http(seconds):
    # Warm both paths (TLS session, upstream keep-alive, V8 JIT) before measuring.
    on_host(f"grep -qF '{HOSTS_LINE}' /etc/hosts || echo '{HOSTS_LINE}' >> /etc/hosts")
    try:
        for url in (f"https://{SITE}/api/health", "http://127.0.0.1:3000/api/health"):
            on_host(f"wrk -t1 -c8 -d3s {url} >/dev/null")
        nginx = wrk(f"https://{SITE}/api/health", seconds)
        direct = wrk("http://127.0.0.1:3000/api/health", seconds)
    finally:
        # docker bind-mounts /etc/hosts: rewrite it in place rather than replace it.
        on_host(f"grep -vF '{HOSTS_LINE}' /etc/hosts > /tmp/hosts.bench; cat /tmp/hosts.bench > /etc/hosts; "
                "rm -f /tmp/hosts.bench")
    return {"nginx_https_two_instances": nginx, "one_instance_direct": direct}


SYSBENCH = (f"sysbench oltp_read_write --db-driver=mysql --mysql-socket={SOCKET} --mysql-user=root "
            "--mysql-db=sbtest --tables=4 --table-size=100000 --threads=4 --percentile=99")


def sysbench(seconds):
    on_host(f"{SYSBENCH} --time=5 run >/dev/null")
    out = on_host(f"{SYSBENCH} --time={seconds} run")
    return {"transactions_per_s": float(re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", out)[1]),
            "queries_per_s": float(re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", out)[1]),
            "p99_ms": float(re.search(r"99th percentile:\s+([\d.]+)", out)[1])}


def server_settings():
    out = on_host("mariadb -N -B -e \"SELECT @@innodb_buffer_pool_size DIV 1048576, @@innodb_log_file_size DIV 1048576,"
                  " @@innodb_flush_log_at_trx_commit, @@max_connections, @@log_bin\"")
    pool, log, flush, conns, log_bin = out.split()
    return {"buffer_pool_mb": int(pool), "log_file_mb": int(log), "flush_log_at_trx_commit": int(flush),
            "max_connections": int(conns), "log_bin": log_bin == "1"}


def bench_mysql(seconds):
    on_host("mariadb -e 'CREATE DATABASE IF NOT EXISTS sbtest'")
    on_host(f"{SYSBENCH} cleanup >/dev/null 2>&1; {SYSBENCH} prepare >/dev/null")
    moved = " ".join(MYSQL_CNF)
    try:
        tuned = {**sysbench(seconds), "settings": server_settings()}
        on_host(f"for f in {moved}; do [ ! -e $f ] || mv $f $f.bench-aside; done; systemctl restart mariadb")
        stock = {**sysbench(seconds), "settings": server_settings()}
    finally:
        on_host(f"for f in {moved}; do [ -e $f.bench-aside ] && mv $f.bench-aside $f; done; "
                "systemctl restart mariadb", check=False)
        on_host("mariadb -e 'DROP DATABASE IF EXISTS sbtest'")
    return {"role_config": tuned, "debian_stock": stock}


def redis_benchmark(env, seconds):
    # About `seconds` per run at this host's speed; --csv gives p99 per test.
    out = on_host(f'redis-benchmark -h 127.0.0.1 -a "$REDISCLI_AUTH" -t set,get,incr,lpush -c 50 -n {seconds * 20000} '
                  "--csv 2>/dev/null", env=env)
    rows = {}
    for line in out.splitlines()[1:]:
        cells = [c.strip('"') for c in line.split(",")]
        rows[cells[0].split()[0]] = {"requests_per_s": float(cells[1]), "p99_ms": float(cells[6])}
    return rows


def bench_redis(seconds):
    secrets = yaml.safe_load(SECRETS.read_text())
    env = {"REDISCLI_AUTH": secrets["vault_redis_requirepass"]}
    config = secrets["vault_redis_config_command"]
    cli = "redis-cli --no-auth-warning -h 127.0.0.1"
    before = on_host(f"{cli} {config} GET appendonly; {cli} {config} GET save", env=env).splitlines()
    settings = dict(zip(before[0::2], before[1::2]))
    if settings.get("appendonly") != "yes":
        sys.exit(f"expected the role's AOF on the demo host, found appendonly={settings.get('appendonly')}")
    try:
        persistent = redis_benchmark(env, seconds)
        on_host(f"{cli} {config} SET appendonly no; {cli} {config} SET save ''", env=env)
        off = redis_benchmark(env, seconds)
    finally:
        on_host(f"{cli} {config} SET appendonly {settings['appendonly']}; "
                f"{cli} {config} SET save '{settings['save']}'; "
                f"{cli} DEL key:__rand_int__ counter:__rand_int__ mylist >/dev/null", env=env)
        after = on_host(f"{cli} {config} GET appendonly; {cli} {config} GET save", env=env).splitlines()
        if dict(zip(after[0::2], after[1::2])) != settings:
            sys.exit(f"Redis persistence was not restored: {after} (was {settings})")
    return {"aof_everysec_and_rdb": persistent, "no_persistence": off, "restored": settings}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="length of each measured run")
    opts = parser.parse_args()
    if subprocess.run(["docker", "inspect", HOST], capture_output=True, check=False).returncode != 0:
        sys.exit(f"{HOST} is not running: run `make demo` first")
    on_host("command -v wrk >/dev/null && command -v sysbench >/dev/null || "
            "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
            "wrk sysbench >/dev/null)")
    started = time.monotonic()
    http, mysql, redis = bench_http(opts.seconds), bench_mysql(opts.seconds), bench_redis(opts.seconds)

    print(f"The stack on {HOST} (Debian 13, load generators on the same 2 cores), {opts.seconds} s runs\n")
    print(f"{'HTTP GET /api/health (wrk, 32 connections)':<48} {'req/s':>9} {'p99 ms':>8}")
    for name, r in http.items():
        print(f"  {name:<46} {r['requests_per_s']:>9} {r['p99_ms']:>8}")
    n, d = http["nginx_https_two_instances"], http["one_instance_direct"]
    print(f"  {'ratio nginx / direct':<46} {n['requests_per_s'] / d['requests_per_s']:>9.2f} "
          f"{n['p99_ms'] / d['p99_ms']:>8.2f}")

    print(f"\n{'MariaDB sysbench oltp_read_write (4 threads)':<48} {'tps':>9} {'qps':>9} {'p99 ms':>8}")
    for name, r in mysql.items():
        print(f"  {name:<46} {r['transactions_per_s']:>9} {r['queries_per_s']:>9} {r['p99_ms']:>8}   {r['settings']}")
    t, s = mysql["role_config"], mysql["debian_stock"]
    print(f"  {'ratio role / stock':<46} {t['transactions_per_s'] / s['transactions_per_s']:>9.2f} "
          f"{t['queries_per_s'] / s['queries_per_s']:>9.2f} {t['p99_ms'] / s['p99_ms']:>8.2f}")

    print(f"\n{'redis-benchmark (50 clients)':<48} {'req/s':>9} {'p99 ms':>8}")
    for test in redis["aof_everysec_and_rdb"]:
        a, o = redis["aof_everysec_and_rdb"][test], redis["no_persistence"][test]
        print(f"  {test + ', AOF everysec + RDB':<46} {a['requests_per_s']:>9} {a['p99_ms']:>8}")
        print(f"  {test + ', no persistence':<46} {o['requests_per_s']:>9} {o['p99_ms']:>8}")
        print(f"  {test + ', ratio AOF / none':<46} {a['requests_per_s'] / o['requests_per_s']:>9.2f}")
    print(f"\n({round(time.monotonic() - started)} s in all; the demo host's settings are restored)")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "stack.json").write_text(json.dumps(
        {"seconds_per_run": opts.seconds, "http": http, "mysql": mysql, "redis": redis}, indent=1) + "\n")


if __name__ == "__main__":
    main()
