"""Shared fixtures: the repository root and the roles in it."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def roles():
    return sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


@pytest.fixture(scope="session")
def root():
    return ROOT
