"""Paths the tests share: the repository root and its roles."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def roles():
    return sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())
