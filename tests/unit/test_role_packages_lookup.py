"""plugins/lookup/role_packages.py: the packages other roles will install on a host, worked out in
common's play (issue 25: one apt transaction on a new host). Each role's list is templated with
that role's defaults, the host's variables above them and its vars/main.yml above those; a role
whose input its own checks would refuse is left to that role, with a warning; an unknown role is
an error."""
import json
import os
import subprocess
import textwrap

from repo import ROOT

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    ansible_facts: {distribution_major_version: "12", distribution_release: bookworm}
  tasks:
    - name: The roles' packages
      ansible.builtin.debug:
        msg: "{{ lookup('prodready.vps.role_packages', *roles_under_test, wantlist=true) }}"
"""


def run(tmp_path, roles, **extra):
    book = tmp_path / "play.yml"
    book.write_text(textwrap.dedent(PLAYBOOK))
    extra["roles_under_test"] = roles
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(book), "-e", json.dumps(extra)],
                         env=env, capture_output=True, text=True, check=False, cwd=tmp_path)
    report = json.loads(out.stdout)
    result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return out.returncode, result, json.dumps(report) + out.stderr


def test_each_role_list_with_its_defaults_and_the_hosts_variables(tmp_path):
    rc, result, _ = run(tmp_path, ["app", "security", "logrotate"], app_packages_extra=["imagemagick"],
                        security_fail2ban=False)
    assert rc == 0, result
    packages = result["msg"]
    # app's default runtime (node) with the host's extra package; security without fail2ban.
    assert {"nodejs", "npm", "imagemagick", "openssh-server", "nftables", "logrotate"} <= set(packages), packages
    assert "fail2ban" not in packages and len(packages) == len(set(packages))


def test_the_lists_are_the_roles_own(tmp_path):
    """The lookup reads each role's __<role>_packages: what the role's own install asks for."""
    rc, result, _ = run(tmp_path, ["certbot", "backup", "drift_check"], drift_check_packages=["ansible-core"],
                        backup_mysql_databases=["shop"])
    assert rc == 0, result
    assert "'mariadb-client'] if backup_mysql_databases" in (ROOT / "roles/backup/vars/main.yml").read_text()
    assert result["msg"] == ["certbot", "gzip", "python3", "mariadb-client", "cron", "ansible-core"]


def test_a_role_keeps_back_what_may_not_come_early(tmp_path):
    """A role's __<role>_packages_early is what it lets common install before it runs: MariaDB's
    packages, none of MySQL's (the vendor's repository comes with the mysql role), none of the
    servers that listen on every address until their role configures them."""
    rc, result, _ = run(tmp_path, ["mysql", "nginx", "backup_server", "monitoring", "monitoring_agent", "logrotate"])
    assert rc == 0, result
    assert result["msg"] == ["mariadb-server", "mariadb-client", "python3-pymysql", "logrotate"]
    rc, result, _ = run(tmp_path, ["mysql", "logrotate"], mysql_flavour="mysql")
    assert rc == 0, result
    assert result["msg"] == ["logrotate"]


def test_a_list_its_role_would_refuse_is_left_to_the_role(tmp_path):
    rc, result, text = run(tmp_path, ["app", "logrotate"], app_runtime="cobol")
    assert rc == 0, result
    assert result["msg"] == ["logrotate"]
    assert "the packages of app are left to the role itself" in text


def test_an_unknown_role_is_an_error(tmp_path):
    rc, result, _ = run(tmp_path, ["nosuchrole"])
    assert rc != 0 and "prodready.vps.nosuchrole has no __nosuchrole_packages" in result["msg"], result
    rc, result, _ = run(tmp_path, ["../common"])
    assert rc != 0 and "is not a role name" in result["msg"], result
