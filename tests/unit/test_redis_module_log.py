"""redis_config never writes the renamed CONFIG command or a secret setting to the host's
journal: AnsibleModule logs "Invoked with ..." as it starts, before the module's own code runs."""
import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.prodready.vps.plugins.module_utils import _redis


def test_the_invocation_log_masks_the_config_alias_and_secret_values(monkeypatch):
    args = {"ANSIBLE_MODULE_ARGS": {"login_password": "prtestsecret-login", "config_command": "prtestsecret_CFG_1",
                                    "settings": {"masterauth": "prtestsecret-master", "hz": 10},
                                    "_ansible_remote_tmp": "/tmp", "_ansible_keep_remote_files": False}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(args)))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    spec = _redis.connection_argument_spec()
    spec.update(settings=dict(type="dict", required=True))
    module = _redis.RedisModule(argument_spec=spec, supports_check_mode=True)
    assert module.params["config_command"] == "prtestsecret_CFG_1"
    text = " ".join(logged)
    assert "Invoked with" in text and "hz" in text
    assert "prtestsecret" not in text, text
