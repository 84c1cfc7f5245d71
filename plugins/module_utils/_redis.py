# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection, normalisation and CONFIG access for the Redis modules (Redis 6+ and Valkey)."""

from __future__ import annotations

import re
import traceback

from ansible_collections.prodready.vps.plugins.module_utils._connection import where  # noqa: F401 (re-exported)

try:
    import redis
    from redis.exceptions import (AuthenticationError, ConnectionError as RedisConnectionError,
                                  NoPermissionError, ResponseError, TimeoutError as RedisTimeoutError)
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None
except ImportError:
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()

# Settings whose values are secrets: never returned, never shown in a diff.
SECRET_SETTINGS = frozenset(("requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"))
# Values compared as given: paths and flags where case or order carry meaning.
_CASE_SENSITIVE = frozenset(("dir", "dbfilename", "appendfilename", "appenddirname", "logfile", "pidfile",
                             "unixsocket", "aclfile", "requirepass", "masterauth", "masteruser"))
# Redis memory units (redis.conf: 1k = 1000 bytes, 1kb = 1024 bytes, ...).
_UNITS = {"b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3, "gb": 1024 ** 3}
_SIZE = re.compile(r"^(\d+)(b|k|kb|m|mb|g|gb)$", re.IGNORECASE)
_WHOLE = re.compile(r"^(\d+)\.0*$")
# notify-keyspace-events: A stands for these class letters (Redis prints A when all are set).
_KEYSPACE_ALL = "g$lshzxetd"
# Old names Redis still prints in some multi-value settings.
_ALIASES = {"slave": "replica"}
REDACTED = "********"


class RedisModuleError(Exception):
    """An error whose message names the cause and the fix, and never a secret."""


def connection_argument_spec():
    """Options every Redis module takes (documented in doc_fragments/redis.py)."""
    return dict(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int", default=6379),
        login_unix_socket=dict(type="path"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        tls=dict(type="bool", default=False),
        ca_cert=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        connect_timeout=dict(type="float", default=5.0),
        # Not no_log: that would mask the word CONFIG everywhere. protect_secrets() masks a renamed one.
        config_command=dict(type="str", default="CONFIG", no_log=False),
    )


try:
    from ansible.module_utils.basic import AnsibleModule as _AnsibleModule
except ImportError:  # pragma: no cover
    _AnsibleModule = object


class RedisModule(_AnsibleModule):
    """AnsibleModule that masks the secrets before it logs its invocation to the host's journal
    (AnsibleModule logs "Invoked with ..." right after validating its arguments)."""

    def _log_invocation(self):
        protect_secrets(self)
        super()._log_invocation()


def protect_secrets(module):
    """Mask a renamed CONFIG and secret setting values wherever they would appear in the output."""
    if module.params["config_command"].upper() != "CONFIG":
        module.no_log_values.add(module.params["config_command"])
    for name, value in (module.params.get("settings") or {}).items():
        if name in SECRET_SETTINGS and value:
            module.no_log_values.add(to_redis(value))


def to_redis(value):
    """The string CONFIG SET gets for a value given in YAML (bool, number, list or string)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def normalise(name, value):
    """One spelling per meaning: '2gb' and '2147483648', 'YES' and True, '900 1  300 10' and
    ['900 1', '300 10'] compare equal. Sizes follow Redis's units."""
    text = to_redis(value)
    if name in _CASE_SENSITIVE:
        return text
    if name == "notify-keyspace-events":
        # Redis reorders the flags it is given and prints A for all the classes A stands for.
        return "".join(sorted(set(text.replace("A", _KEYSPACE_ALL))))
    tokens = []
    for token in text.split():
        match = _SIZE.match(token)
        whole = _WHOLE.match(token)
        if match:
            token = str(int(match.group(1)) * _UNITS[match.group(2).lower()])
        elif whole:
            token = whole.group(1)           # hz: 10.0 is 10
        else:
            token = token.lower()
        tokens.append(_ALIASES.get(token, token))
    if name == "client-output-buffer-limit" and len(tokens) % 4 == 0:
        # Four words per client class; Redis prints the classes in its own order.
        tokens = [w for group in sorted(tokens[i:i + 4] for i in range(0, len(tokens), 4)) for w in group]
    return " ".join(tokens)


def redact(name, value):
    return REDACTED if name in SECRET_SETTINGS and value not in (None, "") else value


def connect(params):
    """A connected client; RedisModuleError with cause and fix when it cannot be had."""
    kwargs = dict(username=params.get("login_user") or None, password=params.get("login_password") or None,
                  socket_connect_timeout=params["connect_timeout"], socket_timeout=params["connect_timeout"],
                  decode_responses=True,
                  # One try: a refused login or an unreachable server is an answer, and redis-py 6
                  # and later retry a failed connect three times with backoff (3.4 s for each
                  # refused login, such as the check for a server without a password below).
                  retry=Retry(NoBackoff(), 0))
    if params.get("login_unix_socket"):
        client = redis.Redis(unix_socket_path=params["login_unix_socket"], **kwargs)
    else:
        if params.get("tls"):
            kwargs.update(ssl=True, ssl_ca_certs=params.get("ca_cert"),
                          ssl_cert_reqs="required" if params["validate_certs"] else "none")
        client = redis.Redis(host=params["login_host"], port=params["login_port"], **kwargs)
    try:
        client.ping()
    except AuthenticationError as err:
        if "without any password configured" in str(err) or "no password is set" in str(err).lower():
            raise RedisModuleError("Redis at %s has no password (requirepass is not set): leave login_password "
                                   "empty, or set requirepass on the server" % where(params))
        if "NOAUTH" in str(err) or not params.get("login_password"):
            raise RedisModuleError("Redis at %s requires a password: set login_password" % where(params))
        who = "user %s" % params["login_user"] if params.get("login_user") else "the default user"
        raise RedisModuleError("Redis at %s rejected the password for %s: login_password must equal requirepass "
                               "(or the ACL user's password)" % (where(params), who))
    except (RedisConnectionError, RedisTimeoutError) as err:
        raise RedisModuleError("cannot reach Redis at %s (%s): is the server running and bound to that address?"
                               % (where(params), _first_line(err)))
    except ResponseError as err:
        if "without any password configured" in str(err):
            raise RedisModuleError("Redis at %s has no password (requirepass is not set): leave login_password "
                                   "empty, or set requirepass on the server" % where(params))
        raise RedisModuleError("Redis at %s refused PING: %s" % (where(params), _first_line(err)))
    if params.get("login_password") and not params.get("login_user"):
        # redis-py ignores the server's "AUTH called without any password configured": a password
        # given for a server that has none would pass unnoticed, and that server is open to all.
        kwargs.update(password=None, username=None)
        bare = (redis.Redis(unix_socket_path=params["login_unix_socket"], **kwargs) if params.get("login_unix_socket")
                else redis.Redis(host=params["login_host"], port=params["login_port"], **kwargs))
        try:
            bare.ping()
            open_to_all = True
        except (AuthenticationError, ResponseError):
            open_to_all = False
        except (RedisConnectionError, RedisTimeoutError):
            open_to_all = False
        if open_to_all:
            raise RedisModuleError("Redis at %s has no password (requirepass is not set) and answers anyone: set "
                                   "requirepass on the server, or leave login_password empty" % where(params))
    return client


def _first_line(err):
    return str(err).splitlines()[0] if str(err) else err.__class__.__name__


def _config(client, params, *args):
    """Run CONFIG <args> under whatever name CONFIG has on this server."""
    try:
        return client.execute_command(params["config_command"], *args)
    except NoPermissionError:
        raise RedisModuleError("the user Redis at %s logged us in as may not run CONFIG %s: grant it +config "
                               "or log in as an operator" % (where(params), args[0]))
    except ResponseError as err:
        if str(err).lower().startswith("unknown command"):
            raise RedisModuleError("CONFIG is renamed or disabled on Redis at %s: set config_command to the name "
                                   "redis.conf's rename-command gives it" % where(params))
        raise


def read_live(client, params, names):
    """{name: live value} for each setting name, read with CONFIG GET."""
    live = {}
    for name in names:
        try:
            reply = _config(client, params, "GET", name)
        except ResponseError as err:
            raise RedisModuleError("Redis at %s refused CONFIG GET %s: %s" % (where(params), name, _first_line(err)))
        pairs = reply if isinstance(reply, dict) else dict(zip(reply[0::2], reply[1::2]))
        if name not in pairs:
            raise RedisModuleError("Redis at %s has no setting '%s': check the name (CONFIG GET %s returned nothing)"
                                   % (where(params), name, name))
        live[name] = pairs[name]
    return live


def planned_queries(changes, persist):
    """The commands apply() runs for these changes: the CONFIG alias and secret values left out."""
    queries = ["CONFIG SET %s %s" % (name, redact(name, to_redis(c["after"]))) for name, c in changes.items()]
    if persist and changes:
        queries.append("CONFIG REWRITE")
    return queries


def apply(client, params, changes, persist):
    """CONFIG SET each change, then CONFIG REWRITE when persist."""
    for name, change in changes.items():
        try:
            _config(client, params, "SET", name, to_redis(change["after"]))
        except ResponseError as err:
            text = str(err)
            if "immutable" in text or "Unsupported CONFIG parameter" in text or "protected config" in text:
                raise RedisModuleError("'%s' cannot be changed while Redis runs: set it in redis.conf and restart "
                                       "the server" % name)
            raise RedisModuleError("Redis at %s refused CONFIG SET %s: %s" % (where(params), name, _first_line(err)))
    if persist and changes:
        try:
            _config(client, params, "REWRITE")
        except ResponseError as err:
            raise RedisModuleError("the settings are live, but CONFIG REWRITE failed (%s): the server was started "
                                   "without a config file, or cannot write it; set persist=false" % _first_line(err))


# --- ACL users --------------------------------------------------------------------------------
def read_acl(client, params):
    """{user: ACL LIST rule line} of the live server."""
    try:
        lines = client.execute_command("ACL", "LIST")
    except NoPermissionError:
        raise RedisModuleError("the user Redis at %s logged us in as may not run ACL LIST: grant it +acl "
                               "or log in as an operator" % where(params))
    except ResponseError as err:
        raise RedisModuleError("Redis at %s refused ACL LIST: %s" % (where(params), _first_line(err)))
    users = {}
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] == "user":
            users[parts[1]] = line
    return users


def plan_acl(live, declared):
    """Findings and commands for the ACL users: any user not declared (besides `default`) is
    added and deleted; a declared one that is missing, off, or lost its password hash is set
    back from its declared rules. `declared` is {name: rules as in an ACL file line}."""
    findings, commands = [], []
    for name in sorted(set(live) - set(declared) - {"default"}):
        findings.append({"kind": "added", "what": "ACL user %s" % name, "before": "present", "after": "absent"})
        commands.append(["ACL", "DELUSER", name])
    for name in sorted(declared):
        rules = declared[name].split()
        hashes = [r for r in rules if r.startswith("#")]
        line = live.get(name)
        if line is None:
            problem = "absent"
        elif " on " not in " %s " % line:
            problem = "off"
        elif any(h not in line.split() for h in hashes):
            problem = "another password"
        else:
            continue
        findings.append({"kind": "removed", "what": "ACL user %s" % name, "before": problem, "after": "as declared"})
        commands.append(["ACL", "SETUSER", name, "reset"] + rules)
    return findings, commands


def apply_acl(client, params, commands):
    for command in commands:
        try:
            client.execute_command(*command)
        except ResponseError as err:
            raise RedisModuleError("Redis at %s refused %s %s %s: %s"
                                   % (where(params), command[0], command[1], command[2], _first_line(err)))
