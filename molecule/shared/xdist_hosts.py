"""pytest plugin: pytest-xdist sends all of one platform's tests to the same worker, in file
order, so the platforms are verified side by side while each one's tests (some redeploy or
restart services on the host) still run one after another.

A scheduler rather than `--dist loadgroup` markers: xdist 3.8 marks groups by rewriting
item._nodeid, which pytest 9 no longer reads."""
import re

from xdist.scheduler import LoadScopeScheduling

# testinfra's ids: test_x[ansible://common12] or test_x[ansible://mysql13-shop] (more parameters).
HOST = re.compile(r"\[\w+://([^\]-]+)")


class HostScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid):
        match = HOST.search(nodeid)
        return match.group(1) if match else nodeid.rsplit("::", 1)[0]


def pytest_xdist_make_scheduler(config, log):
    return HostScheduling(config, log)
