"""The mysql role's server, asked with the mariadb client on the host: live settings, accounts,
privileges, indexes, logs, durability and listening sockets."""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from helpers import run_converge  # noqa: E402

CONVERGE = Path(__file__).resolve().parent.parent / "converge.yml"


@pytest.fixture(scope="module")
def conf(host):
    return host.ansible.get_variables()


def sql(host, query):
    """Run as root over the unix socket (root has no password: socket authentication)."""
    return host.check_output(f'mariadb -NB -e "{query}"')


def as_app(host, conf, query):
    """Run as the app user over TCP; returns the reply text only (never the command)."""
    password = conf["mysql_users"][0]["password"]
    reply = host.run(f'MYSQL_PWD=\'{password}\' mariadb -h 127.0.0.1 -u app -NB -e "{query}"')
    return reply.rc, (reply.stdout + reply.stderr).strip()


def variable(host, name):
    return sql(host, f"SELECT @@GLOBAL.{name}")


@pytest.mark.parametrize("name, value", [
    ("character_set_server", "utf8mb4"),
    ("collation_server", "utf8mb4_unicode_ci"),
    ("default_storage_engine", "InnoDB"),
    ("slow_query_log", "1"),
    ("long_query_time", "2.000000"),
    ("log_bin", "1"),
    ("binlog_expire_logs_seconds", "604800"),
    ("max_connections", "1000"),
    ("max_user_connections", "200"),
    ("skip_name_resolve", "1"),
    ("innodb_file_per_table", "1"),
])
def test_live_settings(host, name, value):
    assert variable(host, name) == value


def test_buffer_pool_is_sized_from_ram(host):
    memtotal_mb = host.ansible("setup", "filter=ansible_memtotal_mb")["ansible_facts"]["ansible_memtotal_mb"]
    expected_mb = max(int(memtotal_mb * 0.02 / 128), 1) * 128
    assert int(variable(host, "innodb_buffer_pool_size")) == expected_mb * 1024 * 1024


def test_slow_queries_are_logged(host):
    marker = f"SLEEP(2.1) AS slow_{int(time.time())}"
    sql(host, f"SELECT {marker}")
    assert marker in host.check_output("cat /var/log/mysql/slow.log")


def test_binary_logs_are_written(host):
    assert "mysql-bin." in sql(host, "SHOW BINARY LOGS")


def test_no_anonymous_user_no_remote_root_no_test_database(host):
    assert sql(host, "SELECT COUNT(*) FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost')") == "0"
    assert "unix_socket" in sql(host, "SHOW CREATE USER root@localhost")
    assert "test" not in sql(host, "SHOW DATABASES").split()


def test_app_user_can_use_its_database(host, conf):
    rc, out = as_app(host, conf, "CREATE TABLE IF NOT EXISTS app.notes (id INT PRIMARY KEY); "
                                 "REPLACE INTO app.notes VALUES (1); SELECT COUNT(*) FROM app.notes")
    assert rc == 0 and out == "1", out


@pytest.mark.parametrize("query", ["CREATE DATABASE other", "SELECT * FROM mysql.user", "SHOW GRANTS FOR root@localhost"])
def test_app_user_can_do_nothing_else(host, conf, query):
    rc, out = as_app(host, conf, query)
    assert rc != 0 and "denied" in out, out


def test_app_user_exists_only_for_the_app_hosts(host):
    hosts = sorted(sql(host, "SELECT Host FROM mysql.user WHERE User = 'app'").split())
    assert hosts == ["127.0.0.1", "localhost"]


def test_backup_user_reads_but_cannot_write(host, conf):
    password = conf["mysql_backup_password"]
    ok = host.run(f"MYSQL_PWD='{password}' mariadb -u backup -NB -e 'SELECT COUNT(*) FROM app.orders'")
    assert ok.rc == 0
    denied = host.run(f"MYSQL_PWD='{password}' mariadb -u backup -NB -e 'DELETE FROM app.orders'")
    assert denied.rc != 0 and "denied" in denied.stderr


def test_declared_indexes_exist(host):
    rows = sql(host, "SELECT INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) "
                     "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'orders' "
                     "GROUP BY INDEX_NAME, NON_UNIQUE").splitlines()
    found = {r.split("\t")[0]: (r.split("\t")[1], r.split("\t")[2]) for r in rows}
    assert found["idx_orders_user_created"] == ("1", "user_id,created_at")
    assert found["uq_orders_reference"] == ("0", "reference")


def test_data_survives_the_role_and_a_restart(host):
    assert sql(host, "SELECT COUNT(*) FROM app.orders WHERE reference = 'planted-before-converge'") == "1"
    sql(host, "INSERT INTO app.orders (user_id, created_at, reference) VALUES (8, NOW(), 'before-restart') "
              "ON DUPLICATE KEY UPDATE user_id = 8")
    host.run_expect([0], "systemctl restart mariadb")
    assert sql(host, "SELECT COUNT(*) FROM app.orders WHERE reference = 'before-restart'") == "1"


def test_listens_on_loopback_and_the_private_address_only(host):
    private = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    listening = {line.split()[3] for line in host.check_output("ss -Hltn 'sport = :3306'").splitlines()}
    assert listening == {"127.0.0.1:3306", f"{private}:3306"}


def test_no_failed_units(host):
    assert host.check_output("systemctl --failed --no-legend") == ""


def test_an_option_the_server_refuses_never_reaches_it(host):
    """A size MariaDB cannot parse passes the role's own checks; mariadbd --help --verbose reads
    the whole tree and refuses it, the previous file comes back and the server keeps running."""
    static = "/etc/mysql/mariadb.conf.d/60-prodready.cnf"
    before = host.file(static).sha256sum
    pid = host.check_output("systemctl show -p MainPID --value mariadb")
    rc, out = run_converge(host, CONVERGE, mysql_max_allowed_packet="64X")
    text = " ".join(out.split())
    assert rc != 0 and "MariaDB rejected the new configuration" in text, out[-3000:]
    assert "Unknown suffix 'X' used for variable 'max_allowed_packet'" in text
    assert host.file(static).sha256sum == before
    assert host.check_output("systemctl show -p MainPID --value mariadb") == pid
    assert "~" not in host.check_output("ls -A /etc/mysql/mariadb.conf.d")
    assert variable(host, "max_allowed_packet") == str(64 * 1024 * 1024)


def test_the_server_speaks_tls_with_the_internal_cas_certificate(host, conf):
    """mysql_tls is on (the scenario gives a private address): the certificate the server presents
    verifies against the internal CA for 127.0.0.1 and for the private address, and a login over
    TCP is encrypted. The handshake goes to 127.0.0.1: from the private address no account
    matches, and MariaDB answers such a host with an error packet before any TLS."""
    private = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    for address in ("127.0.0.1", private):
        check = host.run(f"openssl s_client -starttls mysql -connect 127.0.0.1:3306 -verify_return_error "
                         f"-verify_ip {address} -CAfile /etc/prodready/tls/ca.crt </dev/null")
        assert check.rc == 0 and "Verify return code: 0 (ok)" in check.stdout, check.stdout[-600:] + check.stderr
    password = conf["mysql_users"][0]["password"]
    reply = host.run(f"MYSQL_PWD='{password}' mariadb -h 127.0.0.1 -u app --ssl --ssl-ca=/etc/prodready/tls/ca.crt "
                     f"--ssl-verify-server-cert -NB -e \"SHOW STATUS LIKE 'Ssl_version'\"")
    assert reply.rc == 0 and reply.stdout.split()[1] in ("TLSv1.2", "TLSv1.3"), reply.stderr
    key = host.file("/etc/prodready/tls/mariadb.key")
    assert (key.user, key.group, key.mode) == ("root", "mysql", 0o640)
