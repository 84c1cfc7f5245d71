"""The security role, from inside and from other hosts on the network: sshd's effective settings,
key login works and password/root logins are refused (a real SSH client on another host), the
database and cache ports answer the app host only while 443 answers anyone, fail2ban watches sshd.
WIP: written, not yet run."""
import pytest
import testinfra

SSH_OPTS = "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5"


def other(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=None)


@pytest.fixture(scope="module")
def db_ip():
    return other("debian13").ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]


def connects(host, ip, port):
    script = f"import socket; s=socket.socket(); s.settimeout(3); s.connect(('{ip}', {port})); print('open')"
    return host.run(f"python3 -c \"{script}\"").stdout.strip() == "open"


def test_sshd_effective_settings(host):
    if host.backend.get_hostname() == "outside":
        pytest.skip("not converged")
    effective = dict(line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == "no"
    assert effective["maxauthtries"] == "3"
    assert effective["allowgroups"] == "sshusers"
    assert "diffie-hellman-group14-sha1" not in effective["kexalgorithms"]
    assert "cbc" not in effective["ciphers"]


def test_key_login_works_and_password_and_root_do_not(host, db_ip):
    if host.backend.get_hostname() != "debian12":
        pytest.skip("the client is the app host")
    assert host.check_output(f"ssh {SSH_OPTS} -i /root/deploy_ed25519 deploy@{db_ip} id -un") == "deploy"
    password = host.run(f"ssh {SSH_OPTS} -o PreferredAuthentications=password,keyboard-interactive deploy@{db_ip} true")
    assert password.rc != 0 and "Permission denied (publickey)" in password.stderr
    root = host.run(f"ssh {SSH_OPTS} -i /root/deploy_ed25519 root@{db_ip} true")
    assert root.rc != 0 and "Permission denied" in root.stderr
    assert host.check_output(f"ssh {SSH_OPTS} -i /root/deploy_ed25519 deploy@{db_ip} sudo -n id -u") == "0"


def test_private_ports_answer_the_app_host_only(host, db_ip):
    name = host.backend.get_hostname()
    if name == "debian13":
        pytest.skip("the firewalled host")
    for port in (3306, 6379):
        assert connects(host, db_ip, port) is (name == "debian12"), (name, port)
    assert connects(host, db_ip, 443)


def test_rules_are_loaded_and_persist(host):
    if host.backend.get_hostname() == "outside":
        pytest.skip("not converged")
    assert "table inet prodready" in host.check_output("nft list tables")
    assert host.service("nftables").is_enabled
    assert "policy drop" in host.check_output("nft list chain inet prodready input")


def test_fail2ban_watches_sshd(host):
    if host.backend.get_hostname() == "outside":
        pytest.skip("not converged")
    assert "sshd" in host.check_output("fail2ban-client status")
