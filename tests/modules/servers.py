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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_module(name, args, check=False, diff=False):
    """Run prodready.vps.<name> on localhost through ansible; return (result, raw output)."""
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

    def start(config_alias=None):
        port = free_port()
        conf = tmp_path / f"redis-{port}.conf"
        lines = [f"port {port}", "bind 127.0.0.1", f"dir {tmp_path}", "daemonize no", 'save ""',
                 "appendonly no", f"unixsocket {tmp_path}/redis-{port}.sock", "unixsocketperm 700",
                 f"requirepass {PASSWORD}", "maxmemory-policy noeviction",
                 f"user ops on >{OPS_PASSWORD} ~* &* +@all",
                 f"user app on >{APP_PASSWORD} ~app:* +@connection +@read +@write -@dangerous"]
        if config_alias:
            lines.append(f"rename-command CONFIG {config_alias}")
        conf.write_text("\n".join(lines) + "\n")
        proc = subprocess.Popen([binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        client = redis.Redis(port=port, password=PASSWORD, decode_responses=True)
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
                               socket=f"{tmp_path}/redis-{port}.sock")

    return start, procs


def stop(procs):
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
