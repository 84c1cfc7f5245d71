"""prodready-restore's quoting and parsing, and its messages for missing tools (#26 item 15)."""
import importlib.machinery
import importlib.util

import pytest

from repo import ROOT


@pytest.fixture(scope="module")
def restore():
    path = str(ROOT / "roles" / "backup" / "files" / "prodready-restore")
    loader = importlib.machinery.SourceFileLoader("prodready_restore", path)
    spec = importlib.util.spec_from_loader("prodready_restore", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_database_name_is_a_literal_not_a_pattern(restore):
    assert restore.sql_string("shop_1") == "'shop_1'"
    assert restore.sql_string("it's\\") == "'it''s\\\\'"


def test_table_names_with_spaces_stay_whole(restore):
    assert restore.rows("orders\nEmpty Table\n\n") == ["orders", "Empty Table"]


def test_missing_tools_are_messages(restore, monkeypatch):
    monkeypatch.setattr(restore.shutil, "which", lambda name: None)
    with pytest.raises(restore.RestoreError, match="neither mariadb nor mysql"):
        restore.client()
    with pytest.raises(restore.RestoreError, match="is not installed on this host"):
        restore.run(["/nonexistent/pg_restore", "--version"])


def test_a_restore_that_would_fill_the_data_disk_is_refused(restore, tmp_path):
    from collections import namedtuple
    dump = tmp_path / "shop.sql.gz"
    dump.write_bytes(b"x" * 1024 * 1024)                         # 1 MiB: about 10 MiB restored
    usage = namedtuple("usage", "total used free")
    restore.check_space(str(dump), "/var/lib/mysql", usage=lambda _: usage(1000 * 2**20, 0, 500 * 2**20))
    with pytest.raises(restore.RestoreError, match="needs about 10 MiB on /var/lib/mysql, which has 105 MiB free"):
        restore.check_space(str(dump), "/var/lib/mysql", usage=lambda _: usage(1000 * 2**20, 0, 105 * 2**20))


def test_the_drill_writes_its_metrics_and_a_failure_keeps_the_last_good_time(restore, tmp_path):
    prom = tmp_path / "prodready_restore_drill.prom"

    def metrics():
        return dict(line.split() for line in prom.read_text().splitlines() if not line.startswith("#"))

    restore.drill_metrics(str(tmp_path), True, now=1000)
    assert metrics() == {"prodready_restore_drill_last_run_timestamp_seconds": "1000",
                         "prodready_restore_drill_last_run_success": "1",
                         "prodready_restore_drill_last_success_timestamp_seconds": "1000"}
    restore.drill_metrics(str(tmp_path), False, now=2000)
    assert metrics() == {"prodready_restore_drill_last_run_timestamp_seconds": "2000",
                         "prodready_restore_drill_last_run_success": "0",
                         "prodready_restore_drill_last_success_timestamp_seconds": "1000"}
    assert oct(prom.stat().st_mode & 0o777) == "0o644"
    # No monitoring agent on the host: nothing written, no error.
    restore.drill_metrics(str(tmp_path / "absent"), True)
    assert not (tmp_path / "absent").exists()


def test_restic_waits_for_a_lock_another_run_holds(restore, monkeypatch):
    """The REST server's prune or a backup holds the repository's lock for a while: restic is run
    again until it gets the lock (within lock_wait), any other failure is reported at once."""
    import subprocess
    answers = []

    def fake(args, **kwargs):
        rc, err = answers.pop(0)
        return subprocess.CompletedProcess(args, rc, stdout="[]" if rc == 0 else "", stderr=err)

    monkeypatch.setattr(restore.subprocess, "run", fake)
    monkeypatch.setattr(restore.time, "sleep", lambda seconds: None)
    locked = (1, "unable to create lock in backend: repository is already locked by PID 7 on backup13")
    answers[:] = [locked, locked, (0, "")]
    assert restore.run(["restic", "snapshots", "--json"]) == "[]" and not answers
    answers[:] = [locked, locked, locked]
    with pytest.raises(restore.RestoreError, match="already locked"):
        restore.run(["restic", "snapshots"], lock_wait=15)
    assert answers == [locked]
    answers[:] = [(1, "Fatal: wrong password or no key found"), (0, "")]
    with pytest.raises(restore.RestoreError, match="wrong password"):
        restore.run(["restic", "snapshots"])
