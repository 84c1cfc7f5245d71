"""plugins/filter/ports.py: the app instances' ports, the load balancer's upstream and the private
ports, computed once for the app role, the firewall, nginx and the inventories (issue #27 item 2)."""
import importlib.util

import pytest
from ansible.errors import AnsibleFilterError

from repo import ROOT

spec = importlib.util.spec_from_file_location("ports", ROOT / "plugins" / "filter" / "ports.py")
ports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ports)


def test_app_ports_count_from_app_port_and_the_roles_defaults():
    assert ports.app_ports(3000, 3) == [3000, 3001, 3002]
    assert ports.app_ports("4100", "2") == [4100, 4101]          # as -e passes them
    assert ports.app_ports(None, None, 4) == [3000, 3001, 3002, 3003]   # app_instances 0: one per CPU
    assert ports.app_ports(8000, 0, "2") == [8000, 8001]


@pytest.mark.parametrize("args, words", [
    ((3000, -1), "app_instances must be 0 (one per CPU) or a positive number (got -1)"),
    ((3000, 0, None), "its facts were not gathered"),
    ((65534, 3), "leave room for 3 instances (got 65534)"),
    ((80, 1), "app_port must be 1024 or more"),
    (("x", 1), "app_port must be a whole number"),
])
def test_bad_input_is_a_message(args, words):
    with pytest.raises(AnsibleFilterError, match=words.replace("(", r"\(").replace(")", r"\)")):
        ports.app_ports(*args)


def test_upstreams_of_every_app_host_at_its_private_address():
    hostvars = {
        "app1": {"private_ip": "10.0.0.21", "app_port": 4100, "app_instances": 2},
        "app2": {"private_ip": "10.0.0.22", "app_instances": 0, "ansible_facts": {"processor_vcpus": 1}},
        "app3": {"private_ip": "fd00::23", "app_instances": 1},
    }
    # The hosts take turns, so nginx's next try after a failure is another host.
    assert ports.app_upstreams(["app1", "app2", "app3"], hostvars) == [
        "10.0.0.21:4100", "10.0.0.22:3000", "[fd00::23]:3000", "10.0.0.21:4101"]
    with pytest.raises(AnsibleFilterError, match="app host app4 has no private_ip"):
        ports.app_upstreams(["app4"], {"app4": {}})


def test_private_ports_follow_the_groups_and_the_roles_port_variables():
    assert ports.private_ports({"group_names": ["db", "cache"]}) == [3306, 6379]
    assert ports.private_ports({"group_names": ["db"], "db_engine": "postgresql", "postgresql_port": "5433"}) == [5433]
    assert ports.private_ports({"group_names": ["db", "cache"], "mysql_port": 3307, "redis_port": 6380}) == [3307, 6380]
    assert ports.private_ports({"group_names": ["app", "lb"]}) == []
    with pytest.raises(AnsibleFilterError, match="db_engine must be one of mysql, postgresql"):
        ports.private_ports({"group_names": ["db"], "db_engine": "mongodb"})
