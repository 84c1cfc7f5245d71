#!/usr/bin/env python3
"""What the backup's checks cost on a large dump, on the controller (no database needed).

prodready-backup compresses each dump, then reads it back (gzip -dc | prodready-dump-manifest)
to count the rows the restore check compares with. This makes a synthetic dump in MariaDB
10.11+'s layout (one row per line; strings with quotes, backslashes and the "),(" separator),
then times: gzip -6 (what the backup pays anyway), gzip -dc alone, and gzip -dc piped into the
manifest script, and prints MB/s and seconds per GB of SQL. Writes bench/results/backup_manifest.json.

    .venv/bin/python bench/backup_manifest.py [rows]       (default 2,000,000 rows, ~250 MB of SQL)
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "roles/backup/files/prodready-dump-manifest"


def make_dump(path: Path, rows: int) -> int:
    with path.open("wb") as out:
        out.write(b"-- MariaDB dump 10.19\nCREATE TABLE `orders` (\n  `id` int NOT NULL\n);\n")
        batch = 10_000
        for start in range(0, rows, batch):
            out.write(b"INSERT INTO `orders` VALUES\n")
            lines = [f"({i},'order {i} ),( it\\'s \\\\ \"quoted\"',{i * 1.5:.2f},0x00FF2829,'2026-11-23 02:00:00')"
                     for i in range(start, min(start + batch, rows))]
            out.write((",\n".join(lines) + ";\n").encode())
        out.write(b"-- Dump completed on 2026-11-23  2:00:01\n")
    return path.stat().st_size


def timed(cmd: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, out


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    with tempfile.TemporaryDirectory() as tmp:
        sql, gz = Path(tmp) / "shop.sql", Path(tmp) / "shop.sql.gz"
        size = make_dump(sql, rows)
        mb = size / 1e6
        t_gzip, _ = timed(f"gzip -6 -c {sql} > {gz}")
        t_gunzip, _ = timed(f"gzip -dc {gz} > /dev/null")
        t_manifest, out = timed(f"gzip -dc {gz} | {sys.executable} {MANIFEST} shop")
        manifest = json.loads(out)
        assert manifest["rows"] == rows and manifest["complete"], manifest
        results = {"rows": rows, "sql_mb": round(mb, 1), "gzip_mb": round(gz.stat().st_size / 1e6, 1),
                   "gzip_6_s": round(t_gzip, 2), "gunzip_s": round(t_gunzip, 2),
                   "gunzip_plus_manifest_s": round(t_manifest, 2)}
    print(f"{rows:,} rows, {results['sql_mb']} MB of SQL, {results['gzip_mb']} MB gzipped\n")
    print(f"{'step':<34}{'seconds':>9}{'MB/s':>9}{'s per GB':>10}")
    for name, key in (("gzip -6 (the backup itself)", "gzip_6_s"), ("gzip -dc alone", "gunzip_s"),
                      ("gzip -dc | prodready-dump-manifest", "gunzip_plus_manifest_s")):
        secs = results[key]
        print(f"{name:<34}{secs:>9.2f}{mb / secs:>9.1f}{secs / mb * 1000:>10.0f}")
    extra = results["gunzip_plus_manifest_s"] / results["gzip_6_s"]
    print(f"\nthe manifest step adds {extra:.0%} to the time gzip takes")
    out_dir = ROOT / "bench/results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "backup_manifest.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
