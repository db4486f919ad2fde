"""Numbers that cannot reach Ollama (NaN, infinities, values wider than the Go types Ollama
decodes options into) are refused where they enter: model files, `set`, conversation defaults
and imports; export never writes NaN."""

from __future__ import annotations

import math

import pytest

from modelops.spec.params import CATALOGUE, type_error
from tests.helpers import RegistryFixture, run


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("temperature", math.nan, "must be a finite number, got nan"),
        ("temperature", math.inf, "must be a finite number, got inf"),
        ("repeat_penalty", -math.inf, "must be a finite number, got -inf"),
        ("temperature", 3.5e38, "must be between -3.4e+38 and 3.4e+38"),
        ("seed", 2**63, "must be between -2^63 and 2^63-1"),
        ("seed", -(2**63) - 1, "must be between -2^63 and 2^63-1"),
        ("num_ctx", 10**100, "got a number of 101 digits"),
        ("seed", math.nan, "expected an integer, got number nan"),
    ],
)
def test_numbers_ollama_cannot_store_are_refused(name, value, why):
    assert why in (type_error(CATALOGUE[name], value) or "")


@pytest.mark.parametrize(
    ("name", "value"),
    [("temperature", 3.4e38), ("seed", 2**63 - 1), ("seed", -(2**63)), ("repeat_penalty", -1.5)],
)
def test_the_widest_numbers_ollama_stores_are_fine(name, value):
    assert type_error(CATALOGUE[name], value) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".nan", "must be a finite number, got nan"),
        (".inf", "must be a finite number, got inf"),
        ("1e999", "must be a finite number, got inf"),
        ("-1e999", "must be a finite number, got -inf"),
    ],
)
def test_set_refuses_a_number_that_is_not_finite(reg: RegistryFixture, value, message):
    reg.add("faq", base="mistral")
    head, before = reg.head(), reg.read("faq")
    result = run("set", "faq", f"parameters.temperature={value}")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"models/faq.yaml:6:16: parameters.temperature: {message}",
        "error: 1 problem found",
    ]
    assert reg.head() == head and reg.read("faq") == before and reg.status() == ""


def test_set_refuses_a_seed_wider_than_64_bits(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    result = run("set", "faq", f"parameters.seed={2**64}")
    assert result.code == 1
    assert "parameters.seed: must be between -2^63 and 2^63-1" in result.err


def test_export_refuses_what_json_cannot_hold_instead_of_writing_nan(reg: RegistryFixture):
    reg.write(
        "faq",
        "version: 1\nid: faq\nbase: mistral\nopenwebui:\n  params:\n    weight: .nan\n",
    )
    reg.commit("a NaN in the verbatim block")
    result = run("export")
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines()[0] == (
        "models/faq.yaml:6:13: openwebui.params.weight: must be a finite number, got nan "
        "(JSON has no nan)"
    )


def test_export_cannot_write_nan_even_if_a_value_slipped_past_validation():
    from modelops.exchange.openwebui_export import dumps

    for pretty in (True, False):
        with pytest.raises(ValueError, match="not JSON compliant"):
            dumps([{"params": {"temperature": math.nan}}], pretty)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".nan", "must be a finite number, got nan"),
        ("1e999", "must be a finite number, got inf"),
        ("18446744073709551616", "must be between -2^63 and 2^63-1"),
    ],
)
def test_conversation_defaults_refuse_them_too(reg: RegistryFixture, tmp_path, value, message):
    source = tmp_path / "c.yaml"
    source.write_text(
        f"version: 1\ndefaults:\n  seed: 1\n  temperature: {value}\nturns:\n  - user: hi\n"
    )
    if "2^63" in message:
        source.write_text(f"version: 1\ndefaults:\n  seed: {value}\nturns:\n  - user: hi\n")
    result = run("replay", str(source), "-m", "llama3.2")
    assert result.code == 1
    line = result.err.splitlines()[0]
    assert line.startswith(f"{source}:") and message in line, result.err
    assert "Traceback" not in result.err


def test_a_target_timeout_must_be_finite(reg: RegistryFixture):
    config = reg.root / "modelops.yaml"
    config.write_text("version: 1\ntargets:\n  local: {type: ollama, timeout: .inf}\n")
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "modelops.yaml:3:25: targets.local.timeout: must be a finite number, got inf"
    )
