"""The exporters filter: one answer for the agent (what to install), the firewall (what to open)
and Prometheus (what to scrape)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodready.vps.plugins.filter import exporters as f


def test_exporters_follow_the_groups():
    assert f.exporters({"group_names": []}) == ["node"]
    assert f.exporters({"group_names": ["db"]}) == ["node", "mysqld"]
    assert f.exporters({"group_names": ["db"], "db_engine": "postgresql"}) == ["node", "postgres"]
    assert f.exporters({"group_names": ["lb", "app", "cache", "db"]}) == ["node", "mysqld", "redis", "nginx"]


def test_the_inventory_can_list_them_and_unknown_names_fail():
    assert f.exporters({"group_names": ["db"], "monitoring_agent_exporters": ["node"]}) == ["node"]
    with pytest.raises(AnsibleFilterError, match="unknown exporters"):
        f.exporters({"monitoring_agent_exporters": ["node", "apache"]})


def test_ports_and_packages():
    assert f.exporter_ports(["node", "mysqld", "redis", "nginx", "postgres"]) == [9100, 9104, 9121, 9113, 9187]
    assert f.exporter_package("redis") == "prometheus-redis-exporter"


def test_scrape_targets_use_the_private_address_and_name_the_host():
    hostvars = {
        "lb1": {"group_names": ["lb"], "private_ip": "10.0.0.10", "ansible_host": "203.0.113.10"},
        "db1": {"group_names": ["db"], "ansible_host": "203.0.113.31"},
    }
    jobs = f.scrape_targets(hostvars, ["lb1", "db1"])
    # In name order, whatever order the inventory lists the hosts in.
    assert jobs["node"] == [{"target": "203.0.113.31:9100", "instance": "db1"},
                            {"target": "10.0.0.10:9100", "instance": "lb1"}]
    assert f.scrape_targets(hostvars, ["db1", "lb1"]) == jobs
    assert jobs["nginx"] == [{"target": "10.0.0.10:9113", "instance": "lb1"}]
    assert jobs["mysqld"] == [{"target": "203.0.113.31:9104", "instance": "db1"}]


def test_a_string_is_not_a_list_of_exporters():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        f.exporters({"monitoring_agent_exporters": "node"})


def test_an_ipv6_target_has_brackets():
    hostvars = {"db1": {"group_names": [], "private_ip": "fd00::31"}}
    assert f.scrape_targets(hostvars, ["db1"])["node"] == [{"target": "[fd00::31]:9100", "instance": "db1"}]
