# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the MySQL/MariaDB modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description: Address of the server.
    type: str
    default: 127.0.0.1
  login_port:
    description: TCP port of the server.
    type: int
    default: 3306
  login_unix_socket:
    description: Path of the server's unix socket; used instead of O(login_host) and O(login_port).
    type: path
  login_user:
    description: User to log in as; read from O(config_file) when not given.
    type: str
  login_password:
    description: That user's password; read from O(config_file) when not given.
    type: str
  config_file:
    description:
      - Client option file with credentials (C([client]) section), used when it exists, as the
        C(mysql) client does. With unix-socket authentication for root, no password is needed.
    type: path
    default: ~/.my.cnf
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
requirements:
  - PyMySQL on the managed host
"""
