"""The postgresql role on a live server, from the host itself and from the other host: settings
read back with SHOW, SSL on the app host's connection, refusals (an address not in pg_hba, no
SSL, an md5 password, no password), each app role confined to its database, the declared index
made once the app's table exists, reloads without restarts, a rejected setting that never goes
live, and data that survives a restart and a re-run. Each host's tests run in file order."""
import json
import shlex
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from helpers import address, run_converge  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1]
CONVERGE = SCENARIO / "converge.yml"
USERS = {u["name"]: u["password"] for u in
         yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]["all"][
             "postgresql_users"]}
INDEX = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]["all"][
    "postgresql_indexes"][0]
VERSION = {"postgresql13": "17", "postgresql12": "15"}


def admin(host, query, database="postgres"):
    """A query as the postgres superuser over the unix socket; the single value it returns."""
    return host.check_output(f"runuser -u postgres -- psql -XAt -d {database} -c {shlex.quote(query)}")


def as_user(host, user, query, hostaddr="127.0.0.1", database=None, sslmode="prefer", password=None):
    """psql as an app role over TCP; returns the command's result (rc, stdout, stderr)."""
    conninfo = f"host={hostaddr} dbname={database or user} user={user} sslmode={sslmode} connect_timeout=5"
    if sslmode.startswith("verify"):
        conninfo += " sslrootcert=/etc/prodready/tls/ca.crt"
    secret = USERS.get(user, "") if password is None else password
    # The password goes through the environment, never the command line the log shows.
    return host.run(f"PGPASSWORD={shlex.quote(secret)} psql -XAt {shlex.quote(conninfo)} -c {shlex.quote(query)}")


def started(host):
    return admin(host, "SELECT pg_postmaster_start_time()")


@pytest.fixture()
def name(host):
    return host.backend.get_hostname()


def test_live_settings(host, name):
    show = {key: admin(host, f"SHOW {key}") for key in (
        "server_version_num", "shared_buffers", "max_connections", "work_mem", "effective_cache_size",
        "log_min_duration_statement", "password_encryption", "ssl", "listen_addresses", "log_lock_waits")}
    assert show["server_version_num"].startswith(VERSION[name])
    assert show["shared_buffers"] == "256MB"  # 1024 MiB x 0.25
    assert show["effective_cache_size"] == "768MB"
    assert show["max_connections"] == "100"
    assert show["work_mem"] == "4MB"
    assert show["log_min_duration_statement"] == "100ms"
    assert show["password_encryption"] == "scram-sha-256"
    assert show["ssl"] == "on" and show["log_lock_waits"] == "on"
    assert show["listen_addresses"] == f"localhost,{address(name)}"
    assert not admin(host, "SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart")


def test_app_host_connects_over_ssl_and_only_over_ssl(host, name):
    if name != "postgresql12":
        pytest.skip("postgresql12 is the app host")
    db = address("postgresql13")
    # postgresql_tls: the internal CA's certificate, for the server's private address (verify-full).
    run = as_user(host, "shop", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", hostaddr=db,
                  sslmode="verify-full")
    assert run.rc == 0 and run.stdout.strip() == "t", run.stderr
    snakeoil = host.run(f"PGPASSWORD=x psql -XAt 'host={db} user=shop sslmode=verify-full connect_timeout=5 "
                        f"sslrootcert=/etc/ssl/certs/ssl-cert-snakeoil.pem' -c 'SELECT 1'")
    assert snakeoil.rc != 0 and "certificate verify failed" in snakeoil.stderr, snakeoil.stderr
    plain = as_user(host, "shop", "SELECT 1", hostaddr=db, sslmode="disable")
    assert plain.rc != 0 and "no pg_hba.conf entry" in plain.stderr and "no encryption" in plain.stderr


def test_an_address_not_in_the_app_hosts_is_refused(host, name):
    if name != "postgresql13":
        pytest.skip("postgresql13 is not an app host of postgresql12's server")
    run = as_user(host, "shop", "SELECT 1", hostaddr=address("postgresql12"), sslmode="require")
    assert run.rc != 0 and "no pg_hba.conf entry" in run.stderr, run.stderr


def test_md5_passwords_and_no_password_are_refused(host, name):
    if name != "postgresql13":
        pytest.skip("one host is enough")
    admin(host, "SET password_encryption = 'md5'; DROP ROLE IF EXISTS legacy; "
                "CREATE ROLE legacy LOGIN PASSWORD 'legacy-password-123456'")
    try:
        md5 = as_user(host, "legacy", "SELECT 1", database="postgres", password="legacy-password-123456")
        assert md5.rc != 0 and "password authentication failed" in md5.stderr, md5.stderr
    finally:
        admin(host, "DROP ROLE legacy")
    none = as_user(host, "shop", "SELECT 1", password="")
    assert none.rc != 0 and "no password supplied" in none.stderr, none.stderr


def test_each_app_role_works_in_its_own_database_only(host, name):
    assert as_user(host, "shop", "CREATE TABLE IF NOT EXISTS scratch (id int); DROP TABLE scratch").rc == 0
    other = as_user(host, "shop", "CREATE TABLE intruder (id int)", database="billing")
    assert other.rc != 0 and "permission denied for database" in other.stderr, other.stderr
    assert admin(host, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'") == "shop"
    assert admin(host, "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'", database="shop") == "pg_trgm"


def test_the_declared_index_is_made_once_the_table_exists_and_data_survives(host, name):
    created = as_user(host, "shop", "CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, customer_id int, "
                                    "created_at timestamptz DEFAULT now()); TRUNCATE orders; "
                                    "INSERT INTO orders (customer_id) SELECT g FROM generate_series(1, 500) g")
    assert created.rc == 0, created.stderr
    before = started(host)
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True)
    assert rc == 0, out[-3000:]
    assert "changed=1" in out or "changed=0" in out
    index = admin(host, "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_orders_customer_created'", "shop")
    assert "(customer_id, created_at)" in index
    assert started(host) == before  # a re-run does not restart the server
    host.check_output(f"systemctl restart postgresql@{VERSION[name]}-main")
    assert as_user(host, "shop", "SELECT count(*) FROM orders").stdout.strip() == "500"


def test_a_role_with_global_rights_and_an_index_on_other_columns_are_named_then_repaired(host, name):
    """What was added beside the declared roles stops the run by name; with the opt-in switch it is
    dropped, and the declared index, found by name on other columns, is rebuilt when asked."""
    admin(host, "CREATE ROLE intruder SUPERUSER LOGIN")
    admin(host, f"DROP INDEX {INDEX['name']}; CREATE INDEX {INDEX['name']} ON orders (created_at)", "shop")
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True)
    assert rc != 0 and "role intruder: has SUPER" in out and "postgresql_remove_unmanaged_roles" in out, out[-3000:]
    assert admin(host, "SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'") == "1"
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True, postgresql_remove_unmanaged_roles=True,
                           postgresql_indexes=[dict(INDEX, rebuild=True)])
    assert rc == 0, out[-3000:]
    assert f"index {INDEX['name']} in shop: orders (created_at)" in out
    assert admin(host, "SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'") == "0"
    index = admin(host, f"SELECT indexdef FROM pg_indexes WHERE indexname = '{INDEX['name']}'", "shop")
    assert "(customer_id, created_at)" in index
    assert as_user(host, "shop", "SELECT count(*) FROM orders").stdout.strip() == "500"


def test_backup_dumps_with_pg_dump_and_the_restore_check_gets_every_row(host, name):
    """The backup role with db_engine: postgresql: pg_dump -Fc of both databases with a manifest,
    then prodready-restore loads each into a scratch database and compares every table's rows."""
    backup = host.run("/usr/local/sbin/prodready-backup")
    assert backup.rc == 0, backup.stderr
    latest = host.check_output("ls -1 /var/backups/prodready | grep -E '^2.*Z$' | tail -n 1")
    files = host.check_output(f"ls -1 /var/backups/prodready/{latest}").split()
    assert {"shop.pgdump", "shop.manifest.json", "billing.pgdump", "billing.manifest.json", "SHA256SUMS"} <= set(files)
    manifest = json.loads(host.file(f"/var/backups/prodready/{latest}/shop.manifest.json").content_string)
    assert manifest["tables"]["public.orders"] == 500 and manifest["complete"] is True
    restore = host.run("/usr/local/sbin/prodready-restore")
    result = json.loads(restore.stdout)
    assert restore.rc == 0 and result["ok"], result
    shop = next(d for d in result["databases"] if d["database"] == "shop")
    assert shop["restored_rows"] == shop["rows"] == 500 and shop["equal"]
    assert not admin(host, "SELECT datname FROM pg_database WHERE datname LIKE 'prodready_restore_%'")
    # A row deleted after the backup is in the restored copy (kept with --keep).
    as_user(host, "shop", "DELETE FROM orders WHERE id = 1")
    kept = json.loads(host.run("/usr/local/sbin/prodready-restore --database shop --keep").stdout)
    assert kept["ok"]
    assert admin(host, "SELECT count(*) FROM orders", "prodready_restore_shop") == "500"
    admin(host, "DROP DATABASE prodready_restore_shop")


def test_a_reloadable_change_reloads_and_a_restart_one_restarts(host, name):
    before = started(host)
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True, postgresql_settings={"work_mem": "8MB"})
    assert rc == 0, out[-3000:]
    assert admin(host, "SHOW work_mem") == "8MB" and started(host) == before
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True, postgresql_max_connections=120)
    assert rc == 0, out[-3000:]
    assert admin(host, "SHOW max_connections") == "120" and started(host) != before
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True)
    assert rc == 0 and admin(host, "SHOW max_connections") == "100" and admin(host, "SHOW work_mem") == "4MB"


def test_a_setting_postgresql_rejects_never_goes_live(host, name):
    conf = f"/etc/postgresql/{VERSION[name]}/main/conf.d/60-prodready.conf"
    before, since = host.file(conf).content_string, started(host)
    rc, out = run_converge(host, CONVERGE, converge_postgresql_only=True,
                           postgresql_settings={"shared_buffers": "lots"})
    assert rc != 0 and "PostgreSQL rejected the new configuration" in out
    assert host.file(conf).content_string == before
    assert admin(host, "SHOW shared_buffers") == "256MB" and started(host) == since


def test_the_postgres_exporter_reads_the_server_as_its_monitoring_role(host, name):
    """prodready.vps.monitoring_agent: the exporter listens on the host's address only and logs in
    as the role the postgresql role made (pg_monitor, no password, peer over the socket)."""
    addr = address(name)
    listening = host.check_output("ss -Hltn").split()
    assert f"{addr}:9187" in listening and "0.0.0.0:9187" not in listening and "*:9187" not in listening
    # The tests before this one restarted PostgreSQL under the running exporter: its first scrape
    # after a restart finds its connection gone ("driver: bad connection", pg_up 0) and the next
    # one connects anew (seen on both releases). A Prometheus scrape every 15 s shows one such 0,
    # which the PostgreSQLDown alert's `for:` rides out; an exporter that cannot log in stays at 0.
    for _ in range(3):
        metrics = host.check_output(
            f"python3 -c \"import urllib.request; print(urllib.request.urlopen('http://{addr}:9187/metrics').read().decode())\"")
        if "\npg_up 1\n" in metrics:
            break
        time.sleep(1)
    assert "\npg_up 1\n" in metrics, [line for line in metrics.splitlines() if line.startswith("pg_up")]
    assert "pg_stat_database_xact_commit" in metrics, "no statistics read: is the role in pg_monitor?"
    assert admin(host, "SELECT pg_has_role('prometheus', 'pg_monitor', 'member')") == "t"
    assert admin(host, "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'prometheus'") == "t"
