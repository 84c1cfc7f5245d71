"""Real servers on temporary ports, and a way to run a module through Ansible against them.
Imported by the tests as `servers`; conftest.py only exposes the fixtures."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import redis

from repo import ROOT

# Distinctive test secrets: a run whose output shows one has leaked it.
PASSWORD = "prtestsecret-redis-default-5b1f0c9e7a"
OPS_PASSWORD = "prtestsecret-redis-ops-2c8e11"
APP_PASSWORD = "prtestsecret-redis-app-9d04aa"
CONFIG_ALIAS = "prtestsecret_CONFIG_7f3a"
MYSQL_PASSWORD = "prtestsecret-mysql-tester-6a1c0e"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_module(name, args, check=False, diff=False, through_ansible=False):
    """Run prodready.vps.<name> on localhost; return (result, raw output).

    By default the module runs as Ansible runs it on a host: its own Python process, its arguments
    (with Ansible's check-mode and diff flags) as JSON on stdin, its result as JSON on stdout. That
    is everything the module does; the `ansible` command line around it adds about 2 s of start-up
    a call (most of this suite's time). through_ansible=True runs it through `ansible` itself, as
    each module's secrets test does, so that what the controller prints is checked too."""
    if through_ansible:
        return _run_through_ansible(name, args, check, diff)
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check, "_ansible_diff": diff,
                                       "_ansible_remote_tmp": "/tmp", "_ansible_keep_remote_files": False}}
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
    proc = subprocess.run([sys.executable, "-m", f"ansible_collections.prodready.vps.plugins.modules.{name}"],
                          input=json.dumps(payload), env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"the module gave no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from None
    # A module sends its warnings as events; the controller shows each event's message.
    for key in ("warnings", "deprecations"):
        if key in result:
            result[key] = [w["event"]["msg"] if isinstance(w, dict) and "event" in w else w for w in result[key]]
    return result, proc.stdout + proc.stderr


def _run_through_ansible(name, args, check, diff):
    cmd = [str(ROOT / ".venv/bin/ansible"), "localhost", "-i", "localhost,", "-c", "local",
           "-m", f"prodready.vps.{name}", "-a", json.dumps(args),
           "-e", f"ansible_python_interpreter={sys.executable}"]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"ansible gave no result:\n{proc.stdout}\n{proc.stderr}") from None
    return result, proc.stdout + proc.stderr


def redis_server_factory(tmp_path):
    """Factory: start a redis-server with a config file, requirepass and ACL users; stop it after."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: run scripts/setup"
    procs = []

    def start(config_alias=None, tls=False):
        port = free_port()
        conf = tmp_path / f"redis-{port}.conf"
        listen = [f"port {port}"]
        if tls:
            # A certificate made now for 127.0.0.1 (nothing secret is committed); TLS only.
            cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
            listen = ["port 0", f"tls-port {port}", f"tls-cert-file {cert}", f"tls-key-file {key}",
                      f"tls-ca-cert-file {cert}", "tls-auth-clients no"]
        lines = [*listen, "bind 127.0.0.1", f"dir {tmp_path}", "daemonize no", 'save ""',
                 "appendonly no", f"unixsocket {tmp_path}/redis-{port}.sock", "unixsocketperm 700",
                 f"requirepass {PASSWORD}", "maxmemory-policy noeviction",
                 f"user ops on >{OPS_PASSWORD} ~* &* +@all",
                 f"user app on >{APP_PASSWORD} ~app:* +@connection +@read +@write -@dangerous"]
        if config_alias:
            lines.append(f"rename-command CONFIG {config_alias}")
        conf.write_text("\n".join(lines) + "\n")
        proc = subprocess.Popen([binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        client = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD, decode_responses=True,
                             socket_connect_timeout=2, socket_timeout=5,
                             **({"ssl": True, "ssl_ca_certs": str(tmp_path / "tls.crt")} if tls else {}))
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError(f"redis-server did not start on port {port}")
        config = config_alias or "CONFIG"

        def live(name):
            reply = client.execute_command(config, "GET", name)
            return reply[name] if isinstance(reply, dict) else dict(zip(reply[0::2], reply[1::2]))[name]

        login = {"login_port": port, "login_password": PASSWORD}
        if config_alias:
            login["config_command"] = config_alias
        return SimpleNamespace(port=port, conf=conf, client=client, live=live, login=login,
                               socket=f"{tmp_path}/redis-{port}.sock", ca_cert=str(tmp_path / "tls.crt"))

    return start, procs


def stop(procs):
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def mariadb_server(base):
    """Start mariadbd with a new data dir under `base` on a free port; return (info, process).
    root logs in by unix socket (as on Debian); `tester` by password over TCP."""
    import pymysql
    for binary in ("mariadb-install-db", "mariadbd"):
        assert shutil.which(binary) or os.path.exists(f"/usr/sbin/{binary}"), \
            f"{binary} is not installed: run scripts/setup"
    datadir, sock, port = base / "data", base / "mysqld.sock", free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
                    "--skip-test-db", "--auth-root-authentication-method=socket"],
                   check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen(["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
                             f"--port={port}", "--bind-address=127.0.0.1", "--user=root",
                             f"--pid-file={base}/mariadbd.pid", f"--log-error={base}/error.log",
                             "--innodb-buffer-pool-size=32M", "--skip-log-bin"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def admin():
        return pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)

    for _ in range(200):
        try:
            admin().close()
            break
        except pymysql.err.OperationalError:
            time.sleep(0.1)
    else:
        raise AssertionError(f"mariadbd did not start: {(base / 'error.log').read_text()[-2000:]}")
    with admin() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER 'tester'@'127.0.0.1' IDENTIFIED BY %s", (MYSQL_PASSWORD,))
        cur.execute("GRANT ALL ON *.* TO 'tester'@'127.0.0.1'")
    login = {"login_host": "127.0.0.1", "login_port": port, "login_user": "tester",
             "login_password": MYSQL_PASSWORD, "config_file": "/nonexistent"}
    return SimpleNamespace(port=port, sock=str(sock), admin=admin, login=login), proc
