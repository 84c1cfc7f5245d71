# Copyright: prodready engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Prometheus exporters a host runs, and on which ports, from its inventory groups.

The monitoring_agent role installs them, the security role opens their ports to the monitoring
hosts, and the monitoring role scrapes them: all three read the same answer, so no address or
port is typed twice."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# Exporter name -> (Debian package, port). Ports are the exporters' registered defaults.
EXPORTERS = {
    "node": ("prometheus-node-exporter", 9100),
    "mysqld": ("prometheus-mysqld-exporter", 9104),
    "postgres": ("prometheus-postgres-exporter", 9187),
    "redis": ("prometheus-redis-exporter", 9121),
    "nginx": ("prometheus-nginx-exporter", 9113),
}


def exporters(hostvars):
    """The exporters of one host: monitoring_agent_exporters when the inventory sets it, else
    node plus what the host's groups run (db: mysqld or postgres by db_engine, cache: redis,
    lb: nginx)."""
    if not isinstance(hostvars, dict) and not hasattr(hostvars, "get"):
        raise AnsibleFilterError("exporters expects a host's variables, like hostvars[inventory_hostname]")
    chosen = hostvars.get("monitoring_agent_exporters")
    if chosen is None:
        groups = list(hostvars.get("group_names") or [])
        chosen = ["node"]
        if "db" in groups:
            chosen.append("postgres" if hostvars.get("db_engine", "mysql") == "postgresql" else "mysqld")
        if "cache" in groups:
            chosen.append("redis")
        if "lb" in groups:
            chosen.append("nginx")
    if isinstance(chosen, (str, bytes)) or not isinstance(chosen, (list, tuple)):
        # A string would be read letter by letter (node -> n, o, d, e).
        raise AnsibleFilterError(f"monitoring_agent_exporters must be a list, like [node, mysqld] (got {chosen!r})")
    unknown = [name for name in chosen if name not in EXPORTERS]
    if unknown:
        raise AnsibleFilterError(f"unknown exporters {unknown}; known: {sorted(EXPORTERS)}")
    return list(chosen)


def exporter_port(name):
    try:
        return EXPORTERS[name][1]
    except KeyError:
        raise AnsibleFilterError(f"unknown exporter {name!r}; known: {sorted(EXPORTERS)}") from None


def exporter_package(name):
    try:
        return EXPORTERS[name][0]
    except KeyError:
        raise AnsibleFilterError(f"unknown exporter {name!r}; known: {sorted(EXPORTERS)}") from None


def exporter_ports(names):
    return [exporter_port(name) for name in names]


def scrape_targets(hostvars, hosts):
    """Job name -> [{"target": "address:port", "instance": host}] over the given hosts, at each
    host's private_ip (ansible_host, then the name, when it has none). Hosts in name order: the
    same inventory read from another file (or by Molecule, which lists hosts alphabetically) must
    render the same configuration, or a check run would see a change."""
    jobs = {}
    for host in sorted(hosts):
        hv = hostvars[host]
        address = hv.get("private_ip") or hv.get("ansible_host") or host
        if ":" in str(address) and not str(address).startswith("["):
            address = f"[{address}]"         # an IPv6 address: host:port needs brackets
        for name in exporters(hv):
            jobs.setdefault(name, []).append({"target": f"{address}:{exporter_port(name)}", "instance": host})
    return jobs


class FilterModule:
    def filters(self):
        return {
            "exporters": exporters,
            "exporter_port": exporter_port,
            "exporter_package": exporter_package,
            "exporter_ports": exporter_ports,
            "scrape_targets": scrape_targets,
        }
