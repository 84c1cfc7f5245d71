"""The mysql role's config files, rendered by Ansible for each flavour. MySQL 8 cannot be
installed here (the vendor's repository is out of reach), so this is where its config is checked:
MySQL 8 refuses query-cache options and knows only binlog_expire_logs_seconds."""
import subprocess
import sys

import pytest

from repo import ROOT

PLAYBOOK = """
- name: Render the mysql role's templates
  hosts: localhost
  connection: local
  gather_facts: true
  vars_files:
    - {root}/roles/mysql/defaults/main.yml
    - {root}/roles/mysql/vars/main.yml
  tasks:
    - name: Render
      ansible.builtin.template:
        src: {root}/roles/mysql/templates/etc/mysql/mariadb.conf.d/{name}.j2
        dest: {out}/{name}
        mode: "0644"
      loop: [60-prodready.cnf, 61-prodready-live.cnf]
      loop_control:
        loop_var: name
"""


def render(tmp_path, flavour):
    playbook = tmp_path / "render.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT, out=tmp_path, name="{{ name }}"))
    res = subprocess.run([str(ROOT / ".venv/bin/ansible-playbook"), "-i", "localhost,", str(playbook),
                          "-e", f"ansible_python_interpreter={sys.executable}",
                          # Extra vars: above the role files loaded as vars_files.
                          "-e", f"mysql_flavour={flavour} mysql_private_address=10.10.0.31"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    static = (tmp_path / "60-prodready.cnf").read_text()
    live = (tmp_path / "61-prodready-live.cnf").read_text()
    return static, live


def options(text):
    return {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip()
            for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#")}


@pytest.mark.parametrize("flavour, section", [("mariadb", "[mariadbd]"), ("mysql", "[mysqld]")])
def test_both_flavours_render_the_checklist(tmp_path, flavour, section):
    static, live = render(tmp_path, flavour)
    assert section in static and section in live
    s, d = options(static), options(live)
    assert s["bind-address"] == "127.0.0.1,10.10.0.31"
    assert s["skip-name-resolve"] == "ON"
    assert s["default-storage-engine"] == "InnoDB"
    assert s["log-bin"] == "/var/log/mysql/mysql-bin"
    assert int(s["innodb-buffer-pool-size"].rstrip("M")) % 128 == 0
    assert d["character-set-server"] == "utf8mb4"
    assert d["collation-server"] == "utf8mb4_unicode_ci"
    assert d["binlog-expire-logs-seconds"] == str(7 * 86400)
    assert d["max-connections"] == "1000"
    assert d["slow-query-log"] == "ON"


def test_mysql8_gets_no_option_it_refuses(tmp_path):
    static, _ = render(tmp_path, "mysql")
    assert "query-cache" not in static
    assert "expire-logs-days" not in static


def test_mariadb_turns_the_query_cache_off_and_overrides_debians_retention(tmp_path):
    static, _ = render(tmp_path, "mariadb")
    s = options(static)
    assert s["query-cache-type"] == "0"
    assert s["expire-logs-days"] == "7"
