"""The execution environment (issue #28): execution-environment.yml builds a context with
ansible-builder 3 whose Containerfile and requirement files name every dependency, pinned as
requirements.txt and requirements.yml pin them, and install this collection's tarball. No registry
is reachable here, so no image is built (the README says what a user runs where one is)."""
import re
import shutil
import subprocess

import pytest
import yaml

from repo import ROOT

VENV_BIN = ROOT / ".venv" / "bin"


def pins(text):
    """{lower-case name: version} of the name==version lines (extras and comments dropped)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(3)
    return found


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The build context, made from a copy of the repository with the collection built into dist/."""
    work = tmp_path_factory.mktemp("ee")
    dist = ROOT / "dist"
    made_dist = not dist.exists()
    run = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                          str(dist)], cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        assert run.returncode == 0, run.stdout + run.stderr
        run = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", "execution-environment.yml",
                              "-c", str(work / "context"), "--output-filename", "Containerfile"],
                             cwd=ROOT, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        if made_dist:
            shutil.rmtree(dist, ignore_errors=True)
    return work / "context"


def test_the_containerfile_installs_pinned_ansible_and_the_collection(context):
    containerfile = (context / "Containerfile").read_text()
    wanted = pins((ROOT / "constraints.txt").read_text())
    assert f'ANSIBLE_INSTALL_REFS="ansible-core=={wanted["ansible-core"]} ansible-runner=={wanted["ansible-runner"]}"' \
        in containerfile
    assert "ansible-galaxy collection install --offline /tmp/prodready-collections/*.tar.gz" in containerfile
    tarballs = [p.name for p in (context / "_build" / "collections").iterdir()]
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    assert tarballs == [f"prodready-vps-{version}.tar.gz"]


def test_the_python_and_collection_requirements_match_the_repository(context):
    ee = pins((context / "_build" / "requirements.txt").read_text())
    repo = pins((ROOT / "requirements.txt").read_text())
    assert ee and all(repo.get(name) == version for name, version in ee.items()), (ee, repo)
    # Every client the modules import on a host (redis_config, mysql_*, postgresql's checks).
    assert {"redis", "pymysql", "psycopg"} <= set(ee)
    assert "mitogen" in ee      # the strategy the drift check uses over SSH
    ee_collections = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    assert ee_collections == yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]


def test_the_system_packages_include_an_ssh_client(context):
    bindep = (context / "_build" / "bindep.txt").read_text()
    assert "openssh-clients [platform:rpm]" in bindep and "openssh-client [platform:dpkg]" in bindep
