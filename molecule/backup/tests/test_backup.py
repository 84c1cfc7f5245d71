"""The backup and logrotate roles on a live MariaDB, Redis and nginx, with moto's S3 server on the
controller: a backup run makes a whole, compressed, checksummed dump locally and an encrypted copy
in the bucket; restores (local, remote, the playbook) give back every row; retention, the lock and
a stopped database behave; every rotation file passes logrotate -d and a forced rotation leaves
each service writing to its new file. Tests run in file order on each host."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from helpers import bridge_gateway, run_converge  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1]
BACKUP_DIR = "/var/backups/prodready"
RESTORE = Path(__file__).resolve().parents[3] / "playbooks" / "restore.yml"
# Rows with what breaks naive dump parsing: the tuple separator inside strings, quotes,
# backslashes, newlines, 4-byte UTF-8. Their count must survive dump, upload and restore.
MARKER = "prodready-row-marker-7f1c"
SEED = f"""
CREATE TABLE IF NOT EXISTS orders (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(200) NOT NULL,
  total DECIMAL(10,2) NOT NULL, data BLOB) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS users (id INT PRIMARY KEY, email VARCHAR(190) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS empty_table (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE OR REPLACE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
DELETE FROM orders; DELETE FROM users;
INSERT INTO orders (note, total, data) SELECT CONCAT('{MARKER} ', seq, ' ),( it''s \\\\ "quoted"\\n😀'),
  seq * 1.5, UNHEX('00FF2829') FROM seq_1_to_1500;
INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com') FROM seq_1_to_25;
"""
EXPECTED = {"orders": 1500, "users": 25, "empty_table": 0}


def sql(host, statement, database="shop"):
    return host.check_output(f"mariadb --batch --skip-column-names {database} <<'SQL'\n{statement}\nSQL")


def backups(host):
    out = host.run(f"ls -1 {BACKUP_DIR}").stdout.split()
    return sorted(d for d in out if d.endswith("Z") and d[:2] == "20")


def redis(host, command):
    """redis-cli with the password from the backup's secrets file (never on a command line)."""
    return host.check_output("REDISCLI_AUTH=\"$(sed -n 's/^REDISCLI_AUTH=//p' /etc/prodready/backup.env | tr -d \"'\")\" "
                             f"redis-cli --no-auth-warning {command}")


def run_backup(host):
    return host.run("/usr/local/sbin/prodready-backup")


def restic(host, command, wait=300):
    """A restic command, run again while another run holds the repository's lock: backup12's
    repository is on backup13, whose tests (in the other worker) back up to it and prune it, and
    Debian 12's restic 0.14 has no --retry-lock."""
    deadline = time.monotonic() + wait
    while True:
        run = host.run(command)
        if "already locked" not in run.stderr or time.monotonic() > deadline:
            return run
        time.sleep(2)


def restic_json(host, command):
    run = restic(host, command)
    assert run.rc == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def restore(host, *args):
    run = host.run("/usr/local/sbin/prodready-restore " + " ".join(args))
    return run.rc, json.loads(run.stdout)


def bucket_objects(prefix):
    """Every object under the host's prefix in moto's bucket, read from the controller."""
    import boto3  # from moto[s3]
    gateway = bridge_gateway()
    s3 = boto3.client("s3", endpoint_url=f"http://{gateway}:9555", region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    listing = s3.list_objects_v2(Bucket="prodready-backups", Prefix=prefix + "/")
    return {o["Key"]: s3.get_object(Bucket="prodready-backups", Key=o["Key"])["Body"].read()
            for o in listing.get("Contents", [])}


@pytest.fixture(scope="module")
def seeded(host):
    sql(host, SEED)
    redis(host, "SET session:1 prodready-session")
    return host


def test_backup_run_makes_a_whole_compressed_dump_locally(seeded):
    host = seeded
    before = backups(host)
    run = run_backup(host)
    assert run.rc == 0, run.stderr[-2000:]
    after = backups(host)
    assert len(after) == len(before) + 1
    folder = f"{BACKUP_DIR}/{after[-1]}"
    files = host.check_output(f"ls -1 {folder}").split()
    assert set(files) == {"shop.sql.gz", "shop.manifest.json", "redis.rdb.gz",
                          "files-srv_shop_shared_uploads.tar.gz", "SHA256SUMS"}
    assert host.run(f"cd {folder} && sha256sum --check --strict SHA256SUMS").rc == 0
    assert host.run(f"gzip -t {folder}/shop.sql.gz").rc == 0
    assert host.check_output(f"gzip -dc {folder}/shop.sql.gz | tail -n 1").startswith("-- Dump completed")
    manifest = json.loads(host.file(f"{folder}/shop.manifest.json").content_string)
    assert manifest["tables"] == EXPECTED and manifest["complete"] is True
    # The dump has the routines/triggers/events switches' output and the view.
    assert host.run(f"gzip -dc {folder}/shop.sql.gz | grep -q 'VIEW `big_orders`'").rc == 0
    assert "invoice-1001.txt" in host.check_output(f"tar -tzf {folder}/files-srv_shop_shared_uploads.tar.gz")
    assert host.check_output(f"gzip -dc {folder}/redis.rdb.gz | head -c 5") == "REDIS"
    assert not [f for f in host.run(f"ls -A {BACKUP_DIR}").stdout.split() if f.startswith(".partial")]
    # Only root can read backups: dumps hold every customer's data.
    assert host.file(BACKUP_DIR).mode == 0o700
    status = json.loads(host.file("/var/lib/prodready/backup-status.json").content_string)
    assert status["status"] == "ok" and status["run"] == after[-1]


def test_backup_is_in_the_bucket_and_encrypted(host):
    name = host.backend.get_hostname()
    snapshots = restic_json(host, "set -a; . /etc/prodready/backup.env; restic snapshots --json --tag prodready")
    assert any(f"run-{backups(host)[-1]}" in s["tags"] for s in snapshots)
    if name == "backup12":
        pytest.skip("backup12's remote copy is on backup13's REST server (the next test)")
    objects = bucket_objects(name)
    assert any(k.startswith(f"{name}/snapshots/") for k in objects)
    assert any(k.startswith(f"{name}/data/") for k in objects)
    # restic encrypts before upload: no row of the database is readable in the bucket.
    assert not [k for k, body in objects.items() if MARKER.encode() in body or b"INSERT INTO" in body]


def test_root_on_the_db_host_cannot_delete_its_copy_on_the_rest_server(host):
    """Issue #26 item 3: backup12 copies to backup13's restic REST server in append-only mode.
    With everything root on backup12 has (the repository password, the login), deleting a
    snapshot is refused; the server's files hold no plaintext row."""
    if host.backend.get_hostname() != "backup12":
        pytest.skip("backup12 is the REST server's client")
    env = "set -a; . /etc/prodready/backup.env;"
    # Two snapshots at least, so that keeping the last one has something to delete.
    assert run_backup(host).rc == 0
    before = restic_json(host, f"{env} restic snapshots --json --tag prodready")
    assert len(before) >= 2, "the REST server should hold two snapshots"
    # Refused by the server, not by a lock another run holds (restic() waits those out).
    forget = restic(host, f"{env} restic forget {before[-1]['short_id']}")
    assert forget.rc != 0 and "already locked" not in forget.stderr, forget.stdout + forget.stderr
    prune = restic(host, f"{env} restic forget --group-by host --keep-last 1 --prune")
    assert prune.rc != 0 and "already locked" not in prune.stderr, prune.stdout + prune.stderr
    after = restic_json(host, f"{env} restic snapshots --json --tag prodready")
    assert [s["id"] for s in after] == [s["id"] for s in before]
    server = testinfra.get_host("docker://backup13")
    assert server.run(f"grep -rl {MARKER} /srv/restic/backup12").rc == 1, "plaintext rows on the server"


def test_the_rest_server_prunes_its_clients_repositories(host):
    if host.backend.get_hostname() != "backup13":
        pytest.skip("backup13 is the REST server")
    # Every restic call here waits for a lock that backup12's runs (in the other worker) hold.
    server = ("restic --repo /srv/restic/backup12 --password-file /etc/restic-rest-server/prune/backup12"
              " --no-cache --retry-lock 5m")
    count = f"runuser -u restic-rest-server -- {server} snapshots --json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not json.loads(host.run(count).stdout or "[]"):
        time.sleep(5)                                   # backup12's worker makes its first backup
    assert json.loads(host.check_output(count)), "backup12 made no snapshot"
    # A client's backup that is running holds the repository's lock; the prune waits for it
    # (--retry-lock) instead of failing. The probe's backup takes a lock when it starts and holds it
    # until its input ends, 12 s later; it has its own host name, which the restore never picks.
    host.check_output("systemd-run --quiet --unit=prodready-lock-probe --uid=restic-rest-server "
                      f"/bin/sh -c '(sleep 12; echo probe) | {server} backup --quiet --stdin --stdin-filename probe"
                      " --host lock-probe'")
    time.sleep(4)
    assert host.run("ls -A /srv/restic/backup12/locks").stdout.strip(), "the probe should hold a lock now"
    run = host.run("systemctl start prodready-restic-prune.service")
    assert run.rc == 0, host.run("journalctl -u prodready-restic-prune.service -n 20 --no-pager").stdout
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and host.service("prodready-lock-probe").is_running:
        time.sleep(1)
    probe = json.loads(host.check_output(f"runuser -u restic-rest-server -- {server} snapshots --json --host lock-probe"))
    assert probe, "the probe's backup failed"
    host.check_output(f"runuser -u restic-rest-server -- {server} forget --quiet {probe[0]['id']}")
    assert json.loads(host.check_output(count)), "the newest snapshot is always kept"
    assert host.service("prodready-restic-prune.timer").is_enabled
    listening = host.check_output("ss -Hltn").split()
    assert any(a.endswith(":8000") and not a.startswith(("0.0.0.0", "*", "[::]")) for a in listening), listening


def test_restore_drill_from_the_bucket_reports_equal_row_counts(host):
    rc, result = restore(host, "--drill", "--source", "remote")
    assert rc == 0 and result["ok"], result
    [shop] = result["databases"]
    assert shop["equal"] and shop["restored_rows"] == shop["rows"] == sum(EXPECTED.values()), shop
    # The scratch database is gone again; the drill is recorded for monitoring.
    assert not sql(host, "SHOW DATABASES LIKE 'prodready_restore_%'", database="").strip()
    drill = json.loads(host.file("/var/lib/prodready/restore-drill-status.json").content_string)
    assert drill["ok"] is True and drill["source"] == "remote"


def test_restore_notices_a_dump_that_lost_rows(host):
    """The comparison can fail: a backup whose dump lost an INSERT is reported, not passed."""
    latest = backups(host)[-1]
    host.check_output(f"cp -a {BACKUP_DIR}/{latest} {BACKUP_DIR}/29991231T000000Z && cd {BACKUP_DIR}/29991231T000000Z"
                      " && gzip -dc shop.sql.gz | awk '/^INSERT INTO `users`/ {skip=1} !skip {print} skip && /;$/ {skip=0}'"
                      " | gzip > s && mv s shop.sql.gz"
                      " && sha256sum shop.manifest.json shop.sql.gz redis.rdb.gz files-*.tar.gz > SHA256SUMS")
    try:
        rc, result = restore(host, "--backup", "29991231T000000Z")
        assert rc == 1 and not result["ok"] and result["databases"], result
        assert "users: backup recorded 25, restored 0" in result["databases"][0]["differences"]
    finally:
        host.run(f"rm -rf {BACKUP_DIR}/29991231T000000Z")


def test_restore_playbook_refuses_the_live_database_without_confirmation(host):
    rows_before = sql(host, "SELECT COUNT(*) FROM orders").strip()
    rc, out = run_converge(host, RESTORE, restore_hosts="all", restore_database="shop", restore_into="shop")
    assert rc != 0
    assert "replaces the live database shop" in " ".join(out.split())
    assert sql(host, "SELECT COUNT(*) FROM orders").strip() == rows_before
    rc, out = run_converge(host, RESTORE, restore_hosts="all")
    assert rc == 0, out[-3000:]
    assert "1525 of 1525 rows in 3 tables, equal" in " ".join(out.split())


def test_confirmed_live_restore_saves_the_current_data_first(host):
    sql(host, "INSERT INTO users VALUES (9999, 'written-after-the-backup@example.com')")
    rc, out = run_converge(host, RESTORE, restore_hosts="all", restore_database="shop", restore_into="shop",
                           restore_confirm="shop")
    assert rc == 0, out[-3000:]
    assert sql(host, "SELECT COUNT(*) FROM users").strip() == "25"
    saved = host.check_output(f"ls -1 {BACKUP_DIR}/pre-restore-shop-*.sql.gz").split()
    assert saved and "written-after-the-backup" in host.check_output(f"gzip -dc {saved[-1]}")
    host.run(f"rm -f {BACKUP_DIR}/pre-restore-shop-*.sql.gz")


def test_retention_removes_only_backups_past_the_limit(host):
    old, recent = "20200101T020000Z", "20200102T020000Z"
    host.check_output(f"mkdir -p {BACKUP_DIR}/{old} {BACKUP_DIR}/{recent} && touch -d '31 days ago' {BACKUP_DIR}/{old}"
                      f" && touch -d '29 days ago' {BACKUP_DIR}/{recent}")
    kept = backups(host)
    assert run_backup(host).rc == 0
    now = backups(host)
    assert old not in now
    assert set(kept) - {old} <= set(now) and recent in now
    assert f"removed {BACKUP_DIR}/{old}" in host.file("/var/log/prodready/backup.log").content_string
    host.run(f"rm -rf {BACKUP_DIR}/{recent}")


def test_a_second_concurrent_run_is_refused_by_the_lock(host):
    before = backups(host)
    holder = host.run("flock /run/lock/prodready-backup.lock sleep 6 >/dev/null 2>&1 & sleep 1; "
                      "/usr/local/sbin/prodready-backup; echo rc=$?")
    assert "rc=75" in holder.stdout
    assert "another backup or restore holds" in holder.stderr
    assert backups(host) == before
    # When the holder is done, the lock is free again and a run goes ahead.
    assert host.run("flock -w 30 /run/lock/prodready-backup.lock true").rc == 0


def test_a_stopped_database_fails_loudly_and_leaves_no_partial_dump(host):
    before = backups(host)
    host.run("rm -f /var/log/prodready/notify.log")
    host.check_output("systemctl stop mariadb")
    try:
        run = run_backup(host)
    finally:
        host.check_output("systemctl start mariadb")
    assert run.rc != 0
    assert "FAILED at: dump of database shop" in run.stderr
    assert backups(host) == before
    assert not [f for f in host.run(f"ls -A {BACKUP_DIR}").stdout.split() if f.startswith(".partial")]
    assert "failed backup" in host.file("/var/log/prodready/notify.log").content_string
    assert json.loads(host.file("/var/lib/prodready/backup-status.json").content_string)["status"] == "failed"


def test_the_schedule_runs_the_backup(host):
    if host.ansible.get_variables().get("backup_scheduler", "cron") == "timer":
        assert host.service("prodready-backup.timer").is_running
        assert host.service("prodready-restore-drill.timer").is_enabled
        assert "02:00:00" in host.check_output("systemctl show -p TimersCalendar prodready-backup.timer")
        before = backups(host)
        assert host.run("systemctl start prodready-backup.service").rc == 0    # waits: Type=oneshot
        assert len(backups(host)) == len(before) + 1
    else:
        cron = host.file("/etc/cron.d/prodready-backup").content_string
        assert "0 2 * * * root /usr/local/sbin/prodready-backup" in cron
        assert "0 4 1 * * root /usr/local/sbin/prodready-restore --drill --source remote" in cron
        assert host.service("cron").is_running
    for secret_free in ("/etc/prodready/backup.conf", "/etc/cron.d/prodready-backup"):
        if host.file(secret_free).exists:
            assert "prtestsecret" not in host.file(secret_free).content_string
    assert host.file("/etc/prodready/backup.env").mode == 0o600


SCHEDULE_ONLY = """
- name: The backup role's schedule alone
  hosts: all
  tasks:
    - name: Schedule the backup
      ansible.builtin.include_role:
        name: prodready.vps.backup
        tasks_from: schedule
"""
UNITS = ["prodready-backup.service", "prodready-backup.timer",
         "prodready-restore-drill.service", "prodready-restore-drill.timer"]


def scheduled_by(host):
    """Which scheduler runs the backup now: 'cron', 'timer', or what is left of both."""
    cron = host.file("/etc/cron.d/prodready-backup").exists
    units = [u for u in UNITS if host.file(f"/etc/systemd/system/{u}").exists]
    timers = [t for t in ("prodready-backup.timer", "prodready-restore-drill.timer")
              if host.run(f"systemctl is-enabled {t}").stdout.strip() == "enabled"]
    if cron and not units and not timers:
        return "cron"
    if not cron and units == UNITS and len(timers) == 2:
        return "timer"
    return f"cron file {cron}, units {units}, enabled timers {timers}"


def test_switching_the_scheduler_removes_the_other_one(host, tmp_path):
    """common's schedule entry point: the timers replace the cron file and the other way round,
    and what the other scheduler left (files, enabled timers) is gone; then back as converged."""
    own = host.ansible.get_variables().get("backup_scheduler", "cron")
    other = "timer" if own == "cron" else "cron"
    playbook = tmp_path / "schedule.yml"
    playbook.write_text(SCHEDULE_ONLY)
    assert scheduled_by(host) == own
    for scheduler in (other, own):
        rc, out = run_converge(host, playbook, backup_scheduler=scheduler)
        assert rc == 0, out[-3000:]
        assert scheduled_by(host) == scheduler


def test_every_rotation_file_passes_logrotate_debug(host):
    names = ["nginx", "mariadb", "redis-server", "prodready", "prodready-app-shop"]
    for name in names:
        assert "ansible" in host.file(f"/etc/logrotate.d/{name}").content_string.lower(), name
        run = host.run(f"logrotate --debug /etc/logrotate.d/{name}")
        assert run.rc == 0 and not errors(run.stderr), (name, errors(run.stderr))
    # The whole configuration too: a log rotated by two files is an error there.
    run = host.run("logrotate --debug /etc/logrotate.conf")
    assert run.rc == 0 and not errors(run.stderr), errors(run.stderr)
    assert host.service("logrotate.timer").is_enabled


def test_forced_rotation_keeps_nginx_writing_to_the_new_file(host):
    tag = f"rotation-{time.time_ns()}"
    fetch(f"/before-{tag}", host)
    host.check_output("logrotate --force /etc/logrotate.d/nginx")
    fetch(f"/after-{tag}", host)
    assert wait_for(lambda: f"after-{tag}" in host.file("/var/log/nginx/access.log").content_string)
    assert f"before-{tag}" in host.file("/var/log/nginx/access.log.1").content_string
    assert f"after-{tag}" not in host.file("/var/log/nginx/access.log.1").content_string
    assert host.file("/var/log/nginx/access.log").user == "www-data"


def test_forced_rotation_keeps_mariadb_writing_its_slow_log(host):
    host.check_output("logrotate --force /etc/logrotate.d/mariadb")
    sql(host, "SELECT SLEEP(1.2) AS prodready_slow_probe")
    assert wait_for(lambda: "prodready_slow_probe" in host.file("/var/log/mysql/slow.log").content_string)
    assert host.file("/var/log/mysql/slow.log").user == "mysql"


def test_forced_rotation_keeps_redis_and_the_backup_log_flowing(host):
    host.check_output("logrotate --force /etc/logrotate.d/redis-server /etc/logrotate.d/prodready")
    redis(host, "BGSAVE")
    assert wait_for(lambda: "Background saving" in host.file("/var/log/redis/redis-server.log").content_string)
    assert run_backup(host).rc == 0
    assert "complete" in host.file("/var/log/prodready/backup.log").content_string


def test_forced_rotation_of_an_app_log_without_a_reopen_signal(host):
    """No postrotate given: copytruncate, so a writer holding the file open keeps writing to it."""
    log = "/srv/shop/shared/log/app.log"
    host.check_output(f"su -s /bin/sh www-data -c 'exec 3>>{log}; for i in $(seq 1 40); do echo line-$i >&3;"
                      " sleep 0.25; done' >/dev/null 2>&1 &")
    time.sleep(2)
    host.check_output("logrotate --force /etc/logrotate.d/prodready-app-shop")
    time.sleep(4)
    assert host.file(log + ".1").exists
    assert "line-" in host.file(log).content_string


def errors(logrotate_output):
    """logrotate's error lines ("error: ..."); its debug output names error.log files too."""
    return [line for line in logrotate_output.splitlines() if line.startswith("error:")]


def fetch(path, host):
    host.run(f"python3 -c \"import urllib.request;urllib.request.urlopen('http://127.0.0.1{path}')\"")


def wait_for(check, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_no_secret_appears_in_a_vvv_run(host):
    """Every task that handles a password or key hides it (no_log), even at -vvv, where Ansible
    prints each module's arguments and results: a whole converge of MariaDB, Redis and the backup
    is grepped for each of the scenario's secrets."""
    if host.backend.get_hostname() != "backup13":
        pytest.skip("one host is enough")
    group_vars = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]
    secrets = {name: value for name, value in group_vars["all"].items() if "prtestsecret" in str(value)}
    secrets.update({f"mysql_users[{user['name']}]": user["password"] for user in group_vars["all"]["mysql_users"]})
    assert len(secrets) >= 7, sorted(secrets)
    # Plain Ansible: its -vvv is what a user's run prints.
    rc, out = run_converge(host, SCENARIO / "converge.yml", "-vvv", plain=True)
    assert rc == 0, "converge at -vvv failed"
    assert "ESTABLISH" in out  # it really ran at -vvv
    # Names only: the test's own output must not print a secret either.
    assert not [name for name, value in secrets.items() if str(value) in out]
