#!/usr/bin/env python3
"""Lynis's hardening index of a stock Debian 13 host and of the whole site on one.

Starts a stock container from the harness image (systemd as PID 1, NET_ADMIN for nftables),
with openssh-server installed as a new VPS comes, and the demo host of inventories/local, to which
`scripts/demo` applies site.yml over SSH (every role: common, security, nginx + certbot, the app,
MariaDB, Redis, backup, logrotate, monitoring agent, drift check). Then installs Debian's lynis in
both, runs `lynis audit system --quick`, and prints each hardening index and the warnings and
suggestions each host gets. Writes bench/results/lynis-debian13.json.

    .venv/bin/python bench/lynis.py        (needs `make setup`; replaces the demo host)
    .venv/bin/python bench/lynis.py --reuse-demo   (audits the demo host as it is: after `make demo`)

Lynis inside a container scores some kernel and boot tests the host owns (sysctls it cannot
write, no boot loader, no separate partitions, no audit subsystem), the same way for both, so the
difference between the two figures is what the roles changed. A second figure scores Lynis's
kernel settings (KRNL-6000) with the values the host would apply at boot from /etc/sysctl.d,
which is what a VPS runs with (see at_boot).
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = os.environ.get("PRODREADY_CACHE", "/var/cache/prodready")
FLAGS = ["--cap-add=SYS_ADMIN", "--cap-add=SYS_PTRACE", "--cap-add=NET_ADMIN",
         "--security-opt=seccomp=unconfined", "--security-opt=apparmor=unconfined", "--cgroupns=host",
         "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs=/run", "--tmpfs=/run/lock"]
DEMO_HOST = "prodready-local-vps1"


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def start(name, release):
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    sh("docker", "run", "-d", "--name", name, "--hostname", name, "--label", "prodready.harness=1", *FLAGS,
       "-v", f"{CACHE}/apt/debian{release}:/var/cache/apt/archives:rw",
       f"prodready/debian:{release}", "/lib/systemd/systemd")
    for _ in range(60):
        state = subprocess.run(["docker", "exec", name, "systemctl", "is-system-running"],
                               capture_output=True, text=True, check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    sys.exit(f"{name}: systemd did not come up")


def apt_install(name, *packages):
    sh("docker", "exec", "-e", "DEBIAN_FRONTEND=noninteractive", name, "sh", "-c",
       f"apt-get update -qq && apt-get install -y -qq {' '.join(packages)} >/dev/null")


def audit(name):
    """(hardening index, warnings, suggestions) of `lynis audit system` on the container."""
    subprocess.run(["docker", "exec", name, "lynis", "audit", "system", "--quick", "--no-colors"],
                   capture_output=True, text=True, check=False)
    report = sh("docker", "exec", name, "cat", "/var/log/lynis-report.dat")
    index = int(re.search(r"^hardening_index=(\d+)$", report, re.M).group(1))
    warnings = sorted({line.split("=", 1)[1].split("|")[0] for line in report.splitlines()
                       if line.startswith("warning[]=")})
    suggestions = sorted({line.split("=", 1)[1].split("|")[0] for line in report.splitlines()
                          if line.startswith("suggestion[]=")})
    return index, warnings, suggestions, at_boot(name, index)


def at_boot(name, index):
    """The index with KRNL-6000's kernel settings as the host applies them at boot.

    A container's /proc/sys is the Docker host's, and read-only: Lynis reads the live values, not
    the ones the roles write to /etc/sysctl.d. This scores each setting Lynis found different again
    with the value systemd-sysctl would set at boot (its merged configuration, the last file
    wins), one point each as Lynis gives, and nothing for a setting no file sets.
    """
    log = sh("docker", "exec", name, "cat", "/var/log/lynis.log")
    points = re.findall(r"Currently having (\d+) points \(out of (\d+)\)", log)
    if not points:
        return index, []
    got, total = map(int, points[-1])
    boot = {}
    for line in sh("docker", "exec", name, "/usr/lib/systemd/systemd-sysctl", "--cat-config").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, value = line.split("=", 1)
            boot[key.strip().lstrip("-")] = value.strip()
    fixed = [key for key, expected in re.findall(
        r"sysctl key (\S+) has a different value than expected in scan profile\. Expected=(\S+), Real=", log)
        if boot.get(key) == expected]
    return (got + len(fixed)) * 100 // total, fixed


def main():
    release = "13"
    stock = f"prodready-bench-lynis-stock{release}"
    try:
        start(stock, release)
        apt_install(stock, "openssh-server", "lynis")
        t0 = time.monotonic()
        converge = None
        if "--reuse-demo" not in sys.argv[1:]:
            subprocess.run([str(ROOT / ".venv/bin/python"), "scripts/local-hosts", "down"], cwd=ROOT,
                           capture_output=True, check=False)
            run = subprocess.run([str(ROOT / "scripts/demo")], cwd=ROOT, capture_output=True, text=True,
                                 check=False)
            if run.returncode != 0:
                sys.exit(run.stdout[-3000:] + run.stderr[-2000:])
            converge = time.monotonic() - t0
        apt_install(DEMO_HOST, "lynis")
        before, after = audit(stock), audit(DEMO_HOST)
    finally:
        subprocess.run(["docker", "rm", "-f", stock], capture_output=True, check=False)
    result = {
        "debian": release,
        "lynis_hardening_index": {"stock": before[0], "provisioned": after[0]},
        # KRNL-6000 scored with the kernel settings as applied at boot (read-only in a container).
        "lynis_hardening_index_at_boot": {"stock": before[3][0], "provisioned": after[3][0]},
        "kernel_settings_at_boot": after[3][1],
        "warnings": {"stock": len(before[1]), "provisioned": len(after[1])},
        "suggestions": {"stock": len(before[2]), "provisioned": len(after[2])},
        "fixed": sorted(set(before[1] + before[2]) - set(after[1] + after[2])),
        "added": sorted(set(after[1] + after[2]) - set(before[1] + before[2])),
        "remaining_warnings": after[1],
        "remaining_suggestions": after[2],
        "site_converge_seconds": round(converge) if converge is not None else None,
    }
    out = ROOT / f"bench/results/lynis-debian{release}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Debian {release}: Lynis hardening index {before[0]} stock -> {after[0]} provisioned")
    print(f"with the kernel settings as the host applies them at boot (KRNL-6000; read-only in a container, "
          f"{len(after[3][1])} of them): {before[3][0]} stock -> {after[3][0]} provisioned")
    print(f"warnings {len(before[1])} -> {len(after[1])}, suggestions {len(before[2])} -> {len(after[2])}")
    print(f"fixed by the roles: {', '.join(result['fixed'])}")
    print(f"warnings left: {', '.join(after[1]) or 'none'}")
    print(f"suggestions left: {', '.join(after[2]) or 'none'}")
    how = f"converged in {converge:.0f} s" if converge is not None else "as it was (--reuse-demo)"
    print(f"(the demo host {how}; details in {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
