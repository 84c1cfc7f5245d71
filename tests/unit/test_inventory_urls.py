"""The app's connection URLs in the example inventories carry passwords made by the documented
recipe (openssl rand -base64: '/', '+' and '=' inside) so that a URL parser gets them back whole."""
import urllib.parse

import jinja2
import pytest
import yaml

from repo import ROOT

PASSWORD = "a/b+c=d/e+f=="


@pytest.mark.parametrize("inventory", ["local", "prod"])
@pytest.mark.parametrize("key", ["DATABASE_URL", "REDIS_URL"])
def test_a_base64_password_survives_the_url(inventory, key):
    app = yaml.safe_load((ROOT / "inventories" / inventory / "group_vars" / "app" / "main.yml").read_text())
    template = jinja2.Environment().from_string(app["app_secret_env"][key])
    url = template.render(vault_mysql_app_password=PASSWORD, vault_redis_app_password=PASSWORD,
                          groups={"db": ["db1"], "cache": ["cache1"]},
                          hostvars={"db1": {"private_ip": "10.0.0.31"}, "cache1": {"private_ip": "10.0.0.41"}})
    parsed = urllib.parse.urlsplit(url)
    assert urllib.parse.unquote(parsed.password) == PASSWORD
    assert parsed.hostname in ("127.0.0.1", "10.0.0.31", "10.0.0.41")
