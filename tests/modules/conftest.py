"""Fixtures for the module tests: real servers on temporary ports (see servers.py)."""
import pytest

import servers


@pytest.fixture
def redis_server(tmp_path):
    start, procs = servers.redis_server_factory(tmp_path)
    yield start
    servers.stop(procs)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    info, proc = servers.mariadb_server(tmp_path_factory.mktemp("mariadb"))
    yield info
    servers.stop([proc])
