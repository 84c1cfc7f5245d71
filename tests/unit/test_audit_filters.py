"""The live-audit comparisons: what a daemon prints against what the inventory declares."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodready.vps.plugins.filter import audit, redis_acl
from ansible_collections.prodready.vps.plugins.modules import systemd_overrides as units

SSHD_T = """port 22
permitrootlogin without-password
passwordauthentication no
allowgroups sshusers
allowgroups root
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
"""


def test_sshd_settings_match_as_sshd_spells_them():
    expected = {"port": 22, "permitrootlogin": "prohibit-password", "passwordauthentication": "no",
                "allowgroups": "sshusers root", "ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com"}
    assert audit.sshd_findings(SSHD_T, expected) == []


def test_sshd_password_logins_and_missing_keywords_are_findings():
    live = SSHD_T.replace("passwordauthentication no", "passwordauthentication yes")
    findings = audit.sshd_findings(live, {"passwordauthentication": "no", "x11forwarding": "no"})
    assert findings == [
        {"kind": "effective config", "what": "sshd passwordauthentication", "before": "yes", "after": "no"},
        {"kind": "effective config", "what": "sshd x11forwarding", "before": "(not set)", "after": "no"}]
    with pytest.raises(AnsibleFilterError, match="printed nothing"):
        audit.sshd_findings("", {"port": 22})


RULESET = """table inet f2b-table {
\tchain f2b-chain {
\t\ttype filter hook input priority filter - 1; policy accept;
\t}
}
table inet prodready {
\tset ssh_rate4 {
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 1m
\t\telements = { 192.0.2.7 timeout 1m expires 41s,
\t\t\t     192.0.2.8 timeout 1m expires 12s }
\t}
\tset private4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.5 }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\ttcp dport 22 accept
\t\tcounter packets 12 bytes 960 comment "dropped by policy"
\t}
}
"""
# The same table loaded from the file alone: no other table, no meter entries, no counts.
RENDERED = "table inet prodready" + RULESET.split("table inet prodready")[1] \
    .replace("\t\telements = { 192.0.2.7 timeout 1m expires 41s,\n\t\t\t     192.0.2.8 timeout 1m expires 12s }\n", "") \
    .replace("packets 12 bytes 960", "packets 0 bytes 0")
assert "192.0.2.7" not in RENDERED and "f2b" not in RENDERED


def test_the_live_table_equals_the_rendered_one_despite_meters_and_counters():
    assert audit.nft_findings(RULESET, RENDERED) == []


def test_a_flushed_or_edited_table_is_a_finding():
    assert audit.nft_findings("", RENDERED)[0]["kind"] == "removed"
    edited = RULESET.replace("tcp dport 22 accept", "tcp dport 22 accept\n\t\ttcp dport 3306 accept")
    finding = audit.nft_findings(edited, RENDERED)
    assert finding[0]["kind"] == "effective config" and "3306" in finding[0]["before"]
    loosened = RULESET.replace("policy drop", "policy accept")
    assert "policy accept" in audit.nft_findings(loosened, RENDERED)[0]["before"]
    with pytest.raises(AnsibleFilterError, match="no table inet prodready"):
        audit.nft_findings(RULESET, "")


def test_sites_nobody_declared_are_added():
    present = ["/etc/nginx/sites-enabled/shop.conf", "/etc/nginx/sites-enabled/evil"]
    assert audit.extra_paths(present, ["/etc/nginx/sites-enabled/shop.conf"], "enabled site") == [
        {"kind": "added", "what": "enabled site /etc/nginx/sites-enabled/evil", "before": "present",
         "after": "absent"}]


SHOW = """Id=shop@3000.service
FragmentPath=/etc/systemd/system/shop@.service
DropInPaths=/etc/systemd/system/shop@.service.d/override.conf /usr/lib/systemd/system/service.d/10-timeout.conf
ActiveState=active

Id=nftables.service
FragmentPath=/usr/lib/systemd/system/nftables.service
DropInPaths=/etc/systemd/system/nftables.service.d/prodready.conf
ActiveState=active

Id=redis-server.service
FragmentPath=/etc/systemd/system/redis-server.service
DropInPaths=
ActiveState=inactive
"""


def test_overrides_are_the_files_in_etc_and_run_nobody_declared():
    found = units.overrides(units.parse_show(SHOW), ["/etc/systemd/system/shop@.service",
                                                     "/etc/systemd/system/nftables.service.d/prodready.conf"])
    assert found == [
        ("shop@3000.service", "/etc/systemd/system/shop@.service.d/override.conf",
         "drop-in /etc/systemd/system/shop@.service.d/override.conf on shop@3000.service"),
        ("redis-server.service", "/etc/systemd/system/redis-server.service",
         "unit file /etc/systemd/system/redis-server.service replaces redis-server.service")]


def test_acl_rules_are_one_line_per_user():
    rules = redis_acl.redis_acl_rules([{"name": "app", "password": "pw", "keys": ["~app:*"], "commands": "+@all"}])
    assert rules == {"app": "on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* "
                            "resetchannels +@all"}
    with pytest.raises(AnsibleFilterError, match="needs name, password"):
        redis_acl.redis_acl_rules([{"name": "x"}])


def test_a_postgresql_index_is_compared_by_definition():
    want = {"database": "shop", "table": "orders", "name": "idx_c", "columns": ["customer_id", "created_at"]}
    same = {"item": want, "query_result": [{"present": True, "index": {
        "table": "orders", "unique": False, "columns": ["customer_id", "created_at"]}}]}
    other = {"item": want, "query_result": [{"present": True, "index": {
        "table": "orders", "unique": True, "columns": ["created_at"]}}]}
    missing = {"item": want, "query_result": [{"present": True, "index": None}]}
    assert audit.pg_index_findings([same, missing]) == []
    assert audit.pg_index_findings([other]) == [
        {"kind": "effective config", "what": "index idx_c in shop", "before": "orders (created_at) unique",
         "after": "orders (customer_id, created_at)"}]


def test_postgresql_roles_with_global_rights_are_named_with_them():
    rows = [{"rolname": "intruder", "rolsuper": True, "rolcreaterole": False, "rolcreatedb": True,
             "rolreplication": False, "rolbypassrls": False}]
    assert audit.pg_role_findings(rows) == [
        {"kind": "added", "what": "role intruder", "before": "has SUPER, CREATEDB", "after": "absent"}]
    assert audit.pg_role_findings({}) == []      # no row: postgresql_query answers {}
