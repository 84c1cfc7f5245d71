# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the Redis modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description: Address of the Redis server.
    type: str
    default: 127.0.0.1
  login_port:
    description: TCP port of the Redis server.
    type: int
    default: 6379
  login_unix_socket:
    description: Path of the server's unix socket; used instead of O(login_host) and O(login_port).
    type: path
  login_user:
    description:
      - ACL user to log in as (Redis 6+). Without it the default user is used.
    type: str
  login_password:
    description:
      - The password of O(login_user), or C(requirepass) for the default user.
    type: str
  tls:
    description: Connect with TLS.
    type: bool
    default: false
  ca_cert:
    description: CA certificate that signed the server's certificate, with O(tls=true).
    type: path
  validate_certs:
    description: Verify the server's certificate, with O(tls=true).
    type: bool
    default: true
  connect_timeout:
    description: Seconds to wait for the connection and for each reply.
    type: float
    default: 5.0
  config_command:
    description:
      - The name C(CONFIG) has on this server. Servers that hide C(CONFIG) from applications
        rename it with C(rename-command CONFIG <secret name>); give that name here.
      - A renamed name is treated as a secret; it is never returned or logged.
    type: str
    default: CONFIG
requirements:
  - redis (the Python client, redis-py) on the managed host
"""
