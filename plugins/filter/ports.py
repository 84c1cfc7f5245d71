# Copyright: prodready engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ports the roles' services listen on, computed in one place.

The app role runs its instances on them, the security role opens them (the app ports to the load
balancers, the database and cache ports to the app hosts), and nginx's upstream and the
inventories list them: all read these filters, so no port or instance count is typed twice.
The defaults are the roles' own (app_port 3000, app_instances 0 = one per CPU, mysql_port 3306,
postgresql_port 5432, redis_port 6379)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

APP_PORT = 3000
APP_INSTANCES = 0          # one instance per CPU
DB_PORTS = {"mysql": 3306, "postgresql": 5432}
REDIS_PORT = 6379


def _int(value, name):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"{name} must be a whole number (got {value!r})") from None


def _unset(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def app_ports(app_port=None, app_instances=None, vcpus=None):
    """The instances' ports: app_instances consecutive ports from app_port; app_instances 0 is
    one per CPU (vcpus, the host's processor_vcpus fact)."""
    first = APP_PORT if _unset(app_port) else _int(app_port, "app_port")
    count = APP_INSTANCES if _unset(app_instances) else _int(app_instances, "app_instances")
    if count < 0:
        raise AnsibleFilterError(f"app_instances must be 0 (one per CPU) or a positive number (got {count})")
    if count == 0:
        if _unset(vcpus):
            raise AnsibleFilterError("app_instances 0 means one instance per CPU, and the host's CPU count is "
                                     "unknown here (its facts were not gathered): set app_instances")
        count = max(_int(vcpus, "processor_vcpus"), 1)
    if not 1024 <= first or first + count - 1 > 65535:
        raise AnsibleFilterError(f"app_port must be 1024 or more and leave room for {count} instances (got {first})")
    return list(range(first, first + count))


def host_app_ports(hostvars):
    """app_ports of one host, from its variables (hostvars[host])."""
    facts = hostvars.get("ansible_facts") or {}
    vcpus = facts.get("processor_vcpus", hostvars.get("ansible_processor_vcpus"))
    return app_ports(hostvars.get("app_port"), hostvars.get("app_instances"), vcpus)


def app_upstreams(hosts, hostvars, address="private_ip"):
    """host:port of every instance on these app hosts, at each host's private address: the
    load balancer's upstream. The hosts take turns (first instance of each host, then the
    second, ...): nginx retries a failed request on the next servers of the list, a limited
    number of times, and with each host's instances side by side a host that is down could
    take every retry."""
    per_host = []
    for host in hosts or []:
        variables = hostvars[host]
        ip = variables.get(address)
        if _unset(ip):
            raise AnsibleFilterError(f"app host {host} has no {address}: the load balancer needs its private address")
        ip = str(ip)
        shown = f"[{ip}]" if ":" in ip else ip
        per_host.append([f"{shown}:{port}" for port in host_app_ports(variables)])
    longest = max((len(servers) for servers in per_host), default=0)
    return [servers[i] for i in range(longest) for servers in per_host if i < len(servers)]


def private_ports(hostvars):
    """The database and cache ports of a host's groups (db by db_engine, cache), which the app
    hosts may reach."""
    groups = list(hostvars.get("group_names") or [])
    ports = []
    if "db" in groups:
        engine = hostvars.get("db_engine") or "mysql"
        if engine not in DB_PORTS:
            raise AnsibleFilterError(f"db_engine must be one of {', '.join(DB_PORTS)} (got {engine!r})")
        name = "postgresql_port" if engine == "postgresql" else "mysql_port"
        value = hostvars.get(name)
        ports.append(DB_PORTS[engine] if _unset(value) else _int(value, name))
    if "cache" in groups:
        value = hostvars.get("redis_port")
        ports.append(REDIS_PORT if _unset(value) else _int(value, "redis_port"))
    return ports


class FilterModule:
    def filters(self):
        return {
            "app_ports": app_ports,
            "host_app_ports": host_app_ports,
            "app_upstreams": app_upstreams,
            "private_ports": private_ports,
        }
