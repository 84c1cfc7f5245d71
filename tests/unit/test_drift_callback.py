"""The drift report's event handling and redaction, fed with results shaped as ansible-core 2.19
hands them to the callback."""
import json
from types import SimpleNamespace

import pytest
from ansible.playbook.handler import Handler

from ansible_collections.prodready.vps.plugins.callback import drift


def task(name="Configure | Render", action="ansible.builtin.template", role="redis", loop=None,
         ignore_errors=False, handler=False):
    obj = Handler() if handler else SimpleNamespace()
    if handler:
        obj.name = name
        obj.action = action
    else:
        obj.get_name = lambda: name
        obj.action = action
    obj._role = SimpleNamespace(get_name=lambda include_role_fqcn=False: role) if role else None
    obj.loop, obj.loop_with, obj.ignore_errors = loop, None, ignore_errors
    return obj


def result(res, host="h1", **kw):
    return SimpleNamespace(_task=task(**kw), _host=SimpleNamespace(get_name=lambda: host), _result=res)


@pytest.fixture
def cb(tmp_path):
    callback = drift.CallbackModule()
    callback.get_option = lambda name: str(tmp_path)
    callback.check_mode = True
    callback.playbook = "site.yml"
    callback.report = lambda: (callback._write(), json.loads((tmp_path / "drift.json").read_text()),
                               (tmp_path / "drift.md").read_text())[1:]
    return callback


def test_a_change_is_drift_with_a_kind(cb):
    cb.v2_runner_on_ok(result({"changed": True, "diff": {"before": "a\n", "after": "b\n"}}))
    cb.v2_runner_on_ok(result({"changed": False}, host="h2"))
    report, md = cb.report()
    assert report["summary"] == {"ok": ["h2"], "drift": ["h1"], "failed": [], "unreachable": []}
    entry = report["hosts"]["h1"]["changes"][0]
    assert entry["kind"] == "file" and entry["role"] == "redis" and "-a\n+b" in entry["diff"]
    assert "## h1: drift" in md and "**file** redis: Configure | Render" in md


def test_module_drift_without_a_change_is_reported(cb):
    cb.v2_runner_on_ok(result({"changed": False, "drift": True, "before": {"columns": ["a"]},
                               "diff": {"before": {"columns": ["a"]}, "after": {"columns": ["a"]}}},
                              action="prodready.vps.mysql_index"))
    report, _ = cb.report()
    assert report["hosts"]["h1"]["changes"][0]["kind"] == "effective config"


def test_a_diff_whose_sides_differ_is_drift_even_unchanged(cb):
    cb.v2_runner_on_ok(result({"changed": False, "diff": {"before": "x", "after": "y"}}, action="x.y.z"))
    cb.v2_runner_on_ok(result({"changed": False, "diff": {"before": "same", "after": "same"}}, host="h2"))
    report, _ = cb.report()
    assert report["summary"]["drift"] == ["h1"] and report["summary"]["ok"] == ["h2"]


def test_findings_are_entries_with_before_and_after(cb):
    cb.v2_runner_on_ok(result({"changed": False, "drift": True, "findings": [
        {"kind": "added", "what": "account intruder@%", "before": "can log in from any host", "after": "absent"},
        {"kind": "effective config", "what": "sshd passwordauthentication", "before": "yes", "after": "no"}]},
        action="prodready.vps.mysql_accounts", role="mysql"))
    report, md = cb.report()
    kinds = [(e["kind"], e["what"], e["before"], e["after"]) for e in report["hosts"]["h1"]["changes"]]
    assert kinds == [("added", "account intruder@%", "can log in from any host", "absent"),
                     ("effective config", "sshd passwordauthentication", "yes", "no")]
    assert "account intruder@%: can log in from any host → absent" in md


def test_a_command_that_would_run_is_drift_and_a_blind_spot_is_an_error(cb):
    cb.v2_runner_on_skipped(result({"skipped": True, "msg": "Command would have run if not in check mode"},
                                   action="ansible.builtin.command", name="Firewall | Load the rules now"))
    cb.v2_runner_on_skipped(result({"skipped": True, "msg": "This module does not support check mode"},
                                   action="community.mysql.mysql_variables", host="h2"))
    report, md = cb.report()
    assert report["hosts"]["h1"]["changes"][0]["kind"] == "effective config"
    assert report["summary"]["failed"] == ["h2"]
    assert report["hosts"]["h2"]["errors"][0]["kind"] == "blind spot"
    assert "**blind spot**" in md


def test_skipped_tasks_are_listed_once_with_their_reason(cb):
    for item in ("a", "b"):
        cb.v2_runner_item_on_skipped(result({"skipped": True, "false_condition": "x | length > 0", "item": item},
                                            loop="{{ xs }}"))
    cb.v2_runner_on_skipped(result({"skipped": True, "skipped_reason": "No items in the list", "results": []},
                                   loop="{{ [] }}", name="Empty"))
    report, _ = cb.report()
    assert report["hosts"]["h1"]["skipped"] == [
        {"role": "redis", "task": "Configure | Render", "reason": "x | length > 0"},
        {"role": "redis", "task": "Empty", "reason": "No items in the list"}]
    assert report["summary"]["ok"] == ["h1"]


def test_a_failed_item_under_ignore_errors_is_not_a_host_failure(cb):
    cb.v2_runner_item_on_failed(result({"failed": True, "msg": "nope", "item": "x"}, loop="{{ xs }}",
                                       ignore_errors=True))
    cb.v2_runner_on_failed(result({"failed": True, "results": [{"failed": True}]}, loop="{{ xs }}"),
                           ignore_errors=True)
    cb.v2_runner_item_on_failed(result({"failed": True, "msg": "real", "item": "y"}, loop="{{ xs }}", host="h2"))
    report, _ = cb.report()
    assert report["summary"]["ok"] == ["h1"] and report["summary"]["failed"] == ["h2"]


def test_a_result_with_a_results_key_that_is_no_loop_is_kept(cb):
    cb.v2_runner_on_ok(result({"changed": True, "results": ["line"]}, action="x.y.query"))
    cb.v2_runner_item_on_ok(result({"changed": True, "item": "a"}, loop="{{ xs }}", host="h2"))
    cb.v2_runner_on_ok(result({"changed": True, "results": [{"changed": True}]}, loop="{{ xs }}", host="h2"))
    report, _ = cb.report()
    assert len(report["hosts"]["h1"]["changes"]) == 1
    assert len(report["hosts"]["h2"]["changes"]) == 1      # the item, not the loop's summary again


def test_a_failed_module_keeps_its_findings(cb):
    cb.v2_runner_on_failed(result({"failed": True, "msg": "accounts nobody declared: x@%",
                                   "findings": [{"kind": "added", "what": "account x@%", "before": "b",
                                                 "after": "absent"}]}))
    report, md = cb.report()
    assert report["summary"]["failed"] == ["h1"]
    assert report["hosts"]["h1"]["changes"][0]["what"] == "account x@%"


def test_handlers_are_consequences(cb):
    cb.v2_runner_on_ok(result({"changed": True}, action="ansible.builtin.systemd_service", handler=True,
                              name="Restart redis"))
    report, _ = cb.report()
    assert report["hosts"]["h1"]["changes"][0]["kind"] == "consequence"


@pytest.mark.parametrize("text, secret", [
    ("+DATABASE_PASSWORD=hunter2xx", "hunter2xx"),
    ("-redis_secret: s3cr3tvalue", "s3cr3tvalue"),
    ('{"password": "jsonsecret1", "user": "app"}', "jsonsecret1"),
    ("+REDIS_URL=redis://app:urlsecret9@10.0.0.5:6379/0", "urlsecret9"),
    ("DATABASE_URL=mysql://shop:p%2Fw+d@db1:3306/shop", "p%2Fw+d"),
    ("+requirepass longsecretvalue", "longsecretvalue"),
    ("CREATE USER 'a'@'%' IDENTIFIED BY 'sqlsecret'", "sqlsecret"),
    ("api-key = abc123def", "abc123def"),
    ("STRIPE_WEBHOOK_SECRET=whsec_abc", "whsec_abc"),
])
def test_secrets_are_masked(text, secret):
    assert secret not in drift.redact(text)
    assert drift.MASK in drift.redact(text)


@pytest.mark.parametrize("text", [
    "auth required pam_unix.so",
    "author: prodready engineers",
    "+maxmemory-policy allkeys-lru",
    "PasswordAuthentication no",
])
def test_ordinary_lines_stay_as_they_are(text):
    assert drift.redact(text) == text


def test_a_file_that_is_gone_is_removed_and_one_to_delete_is_added(cb):
    cb.v2_runner_on_ok(result({"changed": True, "diff": {"before": "", "after": "0 3 * * * root x\n",
                                                         "before_header": "/etc/cron.d/job"}}))
    cb.v2_runner_on_ok(result({"changed": True, "diff": {"before": {"state": "link"}, "after": {"state": "absent"}}},
                              action="ansible.builtin.file", host="h2"))
    cb.v2_runner_on_ok(result({"changed": True, "dest": "/etc/cron.d/backup", "diff": {"before": "", "after": "x\n"}},
                              host="h3"))
    report, _ = cb.report()
    assert report["hosts"]["h1"]["changes"][0]["kind"] == "removed"
    assert report["hosts"]["h2"]["changes"][0]["kind"] == "added"
    assert "--- /etc/cron.d/backup" in report["hosts"]["h3"]["changes"][0]["diff"]


def test_a_module_with_findings_and_other_changes_reports_both(cb):
    cb.v2_runner_on_ok(result({"changed": True, "changes": {"maxmemory-policy": {"before": "noeviction",
                                                                                "after": "allkeys-lru"}},
                               "diff": {"before": {"maxmemory-policy": "noeviction"},
                                        "after": {"maxmemory-policy": "allkeys-lru"}},
                               "findings": [{"kind": "added", "what": "ACL user x", "before": "present",
                                             "after": "absent"}]}, action="prodready.vps.redis_config"))
    changes = cb.report()[0]["hosts"]["h1"]["changes"]
    assert [e["kind"] for e in changes] == ["live setting", "added"]
    assert "maxmemory-policy" in changes[0]["diff"] and "diff" not in changes[1]
