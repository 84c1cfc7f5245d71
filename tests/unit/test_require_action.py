"""plugins/action/require.py: a role's input checks in one task (issue 25), each with its own
message, every failing check named, messages and loops templated only when a check is reached, and
a check that errs on what an earlier failed check found wrong leaves the failures as the message."""
import json
import os
import subprocess
import textwrap

from repo import ROOT

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    password: short
    saves: ["900 1", "soon", "60 x"]
    users: [{name: app, password: prtestsecret-not-printed}]
  tasks:
    - name: Validate | Check the inputs
      prodready.vps.require:
        checks:
          - name: Check the password
            that: [password is string, password | length >= 5]
            msg: never shown
          - name: Check the password's length
            that: password | length >= LONG
            msg: >-
              password must be LONG characters or more
              (got {{ password | length }})
          - name: Check the save points
            that: item is match('^[0-9]+ [0-9]+$')
            msg: "save point '{{ item }}' is not '<seconds> <changes>' ({{ __hint }})"
            loop: "{{ saves }}"
          - name: A check that does not apply
            that: nothing_here.at_all
            msg: "{{ nothing_here.either }}"
            when: false
          - name: Check the users
            that: __user.name == 'web'
            msg: "user {{ __user.name }} must be web"
            loop: "{{ range(users | length) | list }}"
          - name: A check that reads what the length check found wrong
            that: password | length >= LONG or undefined_thing.boom
            msg: not reached when the length check failed, and holds when it passed
      vars:
        __hint: like 900 1
        __user: "{{ users[item] }}"
"""


def run(tmp_path, long, **extra):
    book = tmp_path / "play.yml"
    book.write_text(textwrap.dedent(PLAYBOOK).replace("LONG", str(long)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(book), "-e", json.dumps(extra)],
                         env=env,
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    result = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return out.returncode, result


def test_every_failing_check_is_named_with_its_own_message(tmp_path):
    rc, result = run(tmp_path, 32)
    assert rc != 0 and result["failed"]
    assert result["failures"] == ["password must be 32 characters or more (got 5)",
                                  "save point 'soon' is not '<seconds> <changes>' (like 900 1)",
                                  "save point '60 x' is not '<seconds> <changes>' (like 900 1)",
                                  "user app must be web"]
    assert "prtestsecret" not in json.dumps(result)      # an item is not printed, only messages
    # The last check errs (undefined_thing) after the failures above: they are the message.
    assert "undefined_thing" not in json.dumps(result)


def test_the_checks_pass_when_every_condition_holds(tmp_path):
    rc, result = run(tmp_path, 5, saves=["900 1", "60 1000"], users=[{"name": "web"}])
    assert rc == 0 and not result.get("failed"), result
    assert result["msg"] == "All 6 checks passed" and "failures" not in result
