"""pytest plugin: with pytest-xdist's `--dist loadgroup`, every test of one platform goes to the
same worker, in file order, so the platforms are verified side by side while each one's tests
(some redeploy the host) still run one after another."""
import pytest


# tryfirst: xdist reads the groups in its own pytest_collection_modifyitems.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        spec = getattr(item, "callspec", None)
        host = spec.params.get("_testinfra_host") if spec else None
        if host:
            item.add_marker(pytest.mark.xdist_group(name=str(host).split("://")[-1]))
