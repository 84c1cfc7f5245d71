# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the database and cache modules share about a connection's parameters."""

from __future__ import annotations


def where(params):
    """The server a module talks to, for messages: its unix socket, or host:port."""
    if params.get("login_unix_socket"):
        return params["login_unix_socket"]
    return "%s:%s" % (params["login_host"], params["login_port"])
