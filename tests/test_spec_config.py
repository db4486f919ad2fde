"""modelops.yaml: the check (pydantic) and the read of a file the cache vouches for give the
same plain values, whose defaults the check's models share."""

from __future__ import annotations

import dataclasses

import pytest

from modelops.errors import SpecError
from modelops.spec.config import (
    Config,
    OllamaTargetConfig,
    OpenWebUITargetConfig,
    read_vouched,
)
from modelops.spec.config_check import ConfigFile, OllamaTarget, OpenWebUITarget, parse_config

FULL = b"""\
version: 1
name: team/models
default_target: web
targets:
  local:
    type: ollama
  farm:
    type: ollama
    hosts: [http://10.0.0.1:11434, 10.0.0.2:11434]
    namespace: team
    prune: true
    timeout: 5
    retries: 2
  web:
    type: openwebui
    url: http://127.0.0.1:8080
    api_key_env: WEBUI_KEY
    ollama: farm
    timeout: 7.5
"""

EXPECTED = Config(
    version=1,
    name="team/models",
    default_target="web",
    targets={
        "local": OllamaTargetConfig(),
        "farm": OllamaTargetConfig(
            hosts=("http://10.0.0.1:11434", "10.0.0.2:11434"),
            namespace="team",
            prune=True,
            timeout=5.0,
            retries=2,
        ),
        "web": OpenWebUITargetConfig(
            url="http://127.0.0.1:8080", api_key_env="WEBUI_KEY", ollama="farm", timeout=7.5
        ),
    },
)


def test_checked_and_vouched_reads_give_the_same_values():
    checked = parse_config(FULL, "modelops.yaml")
    assert checked == EXPECTED
    assert read_vouched(FULL, "modelops.yaml") == EXPECTED
    assert isinstance(checked.targets["farm"].timeout, float)  # YAML's 5 is an int


def test_the_defaults_of_a_bare_target():
    config = parse_config(b"version: 1\ntargets:\n  w: {type: openwebui, url: 'http://h:1'}\n", "m")
    web = config.targets["w"]
    assert web == OpenWebUITargetConfig(url="http://h:1")
    assert (web.api_key_env, web.prune, web.timeout, web.ollama) == (
        "OPENWEBUI_API_KEY",
        False,
        30.0,
        None,
    )
    assert OllamaTargetConfig().host_list("http://127.0.0.1:11434") == ["http://127.0.0.1:11434"]
    assert (OllamaTargetConfig().timeout, OllamaTargetConfig().retries) == (30.0, 3)


@pytest.mark.parametrize(
    ("checked", "plain"),
    [
        (ConfigFile, Config),
        (OllamaTarget, OllamaTargetConfig),
        (OpenWebUITarget, OpenWebUITargetConfig),
    ],
)
def test_the_check_knows_every_setting_and_shares_its_defaults(checked, plain):
    fields = {f.name: f for f in dataclasses.fields(plain)}
    assert set(checked.model_fields) == set(fields)
    for name, info in checked.model_fields.items():
        field = fields[name]
        if info.is_required() or field.default is dataclasses.MISSING:
            continue  # a tag, or a mapping built fresh each time
        assert info.default == field.default, name


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (b"version: 1\ndefault_target: far\ntargets: {}\n", "default_target", "names no target"),
        (
            b"version: 1\ntargets:\n  w: {type: openwebui, url: 'http://h:1', ollama: w}\n",
            "targets.w.ollama",
            "names no Ollama target",
        ),
        (
            b"version: 1\ntargets:\n  l: {type: ollama, host: a, hosts: [b]}\n",
            "targets.l",
            "either 'host' or 'hosts'",
        ),
        (b"version: 1\ntargets:\n  l: {type: ollama, prnue: true}\n", "targets.l.prnue", "prune"),
        (b"version: 1\ntargets:\n  l: {type: ollama, timeout: 0}\n", "targets.l.timeout", "0"),
        (
            b"version: 1\ntargets:\n  w: {type: openwebui, url: 'http://h:1', api_key_evn: K}\n",
            "targets.w.api_key_evn",
            "did you mean 'api_key_env'",
        ),
        (b"- a list\n", "", "expected a mapping"),
    ],
)
def test_a_bad_file_says_where_and_what(text: bytes, where: str, message: str):
    with pytest.raises(SpecError) as caught:
        parse_config(text, "modelops.yaml")
    said = str(caught.value)
    assert message in said, said
    assert where in said, said
