#!/usr/bin/env python3
"""Bounded request loop against app instances, as a load balancer sends them.

Round-robin over the ports. A connection refused, or reset before any response (an instance
stopping with requests still in its accept queue), moves on to the next instance: what nginx's
`proxy_next_upstream error` does for a GET. A request fails only if no instance answers or one
answers an error. Both kinds of move are counted.
Runs until STOP_FILE exists (or the time limit), then writes counts to OUT as JSON.
usage: loadloop.py OUT STOP_FILE LIMIT_SECONDS PORT...
"""
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

out, stop, limit, ports = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
result = {"requests": 0, "ok": 0, "failed": 0, "moved_on": 0, "reset_moved_on": 0, "errors": [], "releases": {}}
deadline, turn = time.monotonic() + limit, 0
while not stop.exists() and time.monotonic() < deadline:
    answered = False
    for attempt in range(len(ports)):
        port = ports[(turn + attempt) % len(ports)]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/instance", timeout=5) as reply:
                body = json.load(reply)
            result["releases"][body["release"]] = result["releases"].get(body["release"], 0) + 1
            result["ok"] += 1
            answered = True
            break
        except urllib.error.HTTPError as err:
            result["errors"].append(f"{port}: HTTP {err.code}")
            answered = True
            result["failed"] += 1
            break
        except (ConnectionError, urllib.error.URLError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, (ConnectionRefusedError, ConnectionResetError)):
                result["moved_on"] += 1
                result["reset_moved_on"] += isinstance(reason, ConnectionResetError)
                continue
            result["errors"].append(f"{port}: {reason!r}")
            answered = True
            result["failed"] += 1
            break
    if not answered:
        result["failed"] += 1
        result["errors"].append("no instance answered")
    result["requests"] += 1
    turn += 1
    time.sleep(0.01)
result["errors"] = result["errors"][:20]
Path(out).write_text(json.dumps(result))
