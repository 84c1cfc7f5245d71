"""Import paths for every test: tests/ (repo.py), scripts/ (role_docs.py) and the collection as
Ansible sees it (scripts/setup links .collections/ansible_collections/prodready/vps)."""
import pathlib
import sys

_ROOT = pathlib.Path(__file__).resolve().parent.parent
for path in (_ROOT / "tests", _ROOT / "scripts", _ROOT / ".collections"):
    sys.path.insert(0, str(path))
