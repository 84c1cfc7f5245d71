"""What "equal" means for Redis settings: the modules and the drift check share these rules."""
import pytest

from ansible_collections.prodready.vps.plugins.module_utils._compare import plan_changes
from ansible_collections.prodready.vps.plugins.module_utils._redis import (
    normalise, planned_queries, redact, to_redis)


@pytest.mark.parametrize("name, desired, live", [
    ("maxmemory", "2gb", "2147483648"),
    ("maxmemory", "256MB", "268435456"),
    ("maxmemory", "1g", "1000000000"),          # Redis: g = 10^9, gb = 2^30
    ("maxmemory", 0, "0"),
    ("appendonly", True, "yes"),
    ("protected-mode", "YES", "yes"),
    ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
    ("save", ["900 1", "300 10", "60 10000"], "900 1 300 10 60 10000"),
    ("save", "900 1  300 10", "900 1 300 10"),
    ("save", "", ""),
    ("client-output-buffer-limit", "normal 0 0 0 slave 256mb 64mb 60",
     "normal 0 0 0 replica 268435456 67108864 60"),
    ("notify-keyspace-events", "Ex", "xE"),
    ("notify-keyspace-events", "KEA", "AKE"),
    ("notify-keyspace-events", "Kg$lshzxetd", "AK"),
    ("maxmemory", "100b", "100"),
    ("hz", 10.0, "10"),
    ("hz", "10.0", "10"),
    ("client-output-buffer-limit", "pubsub 32mb 8mb 60 normal 0 0 0 replica 256mb 64mb 60",
     "normal 0 0 0 replica 268435456 67108864 60 pubsub 33554432 8388608 60"),
])
def test_equal_meanings_compare_equal(name, desired, live):
    assert normalise(name, desired) == normalise(name, live)


@pytest.mark.parametrize("name, desired, live", [
    ("maxmemory", "2gb", "2000000000"),
    ("maxmemory-policy", "allkeys-lru", "noeviction"),
    ("save", ["900 1"], "900 1 300 10"),
    ("appendfsync", "everysec", "always"),
    ("dir", "/var/lib/Redis", "/var/lib/redis"),     # paths keep their case
    ("notify-keyspace-events", "Ex", "xe"),
])
def test_different_meanings_differ(name, desired, live):
    assert normalise(name, desired) != normalise(name, live)


def test_plan_reports_only_what_differs_with_values_as_given():
    live = {"maxmemory": "2147483648", "maxmemory-policy": "noeviction", "appendonly": "yes"}
    desired = {"maxmemory": "2gb", "maxmemory-policy": "allkeys-lru", "appendonly": True}
    assert plan_changes(live, desired, normalise) == {
        "maxmemory-policy": {"before": "noeviction", "after": "allkeys-lru"}}


def test_values_sent_to_redis():
    assert to_redis(True) == "yes"
    assert to_redis(["900 1", "300 10"]) == "900 1 300 10"
    assert to_redis(300) == "300"


def test_secrets_are_redacted_in_queries():
    changes = {"requirepass": {"before": "old", "after": "prtestsecret-new"},
               "timeout": {"before": "0", "after": 300}}
    queries = planned_queries(changes, persist=True)
    assert queries == ["CONFIG SET requirepass ********", "CONFIG SET timeout 300", "CONFIG REWRITE"]
    assert redact("timeout", "300") == "300"
    assert planned_queries({}, persist=True) == []
