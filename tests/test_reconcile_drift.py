"""Drift is judged on values: Ollama's rendering parsed back, compared by type."""

from __future__ import annotations

import pytest

from modelops.reconcile.desired import desired_models
from modelops.reconcile.drift import (
    FieldChange,
    Live,
    compare,
    modelfile_template,
    parse_parameters,
    same_parameter,
)
from modelops.spec.checks import check_model

RENDERED = "\n".join(
    [
        'stop                           "<|start_header_id|>"',
        'stop                           "<|eot_id|>"',
        "temperature                    0.2",
        "seed                           1.234567e+06",
        "num_ctx                        8192",
        "use_mmap                       true",
        'stop_word_note                 "tab\\there \\"q\\" \\x41"',
    ]
)


def test_parse_parameters_reads_go_rendering():
    assert parse_parameters(RENDERED) == {
        "stop": ["<|start_header_id|>", "<|eot_id|>"],
        "temperature": 0.2,
        "seed": 1234567.0,
        "num_ctx": 8192.0,
        "use_mmap": True,
        "stop_word_note": 'tab\there "q" A',
    }
    assert parse_parameters("") == {}
    assert parse_parameters('stop                           "###"') == {"stop": ["###"]}


@pytest.mark.parametrize(
    ("name", "want", "have", "same"),
    [
        ("temperature", 0.1, 0.10000000149011612, True),  # float32 round trip
        ("temperature", 0.1, 0.2, False),
        ("temperature", 1, 1.0, True),
        ("num_ctx", 8192, 8192.0, True),
        ("seed", 1234567, 1.234567e06, True),
        ("num_ctx", 8192, 4096.0, False),
        ("use_mmap", True, True, True),
        ("use_mmap", False, True, False),
        ("use_mmap", True, 1.0, False),
        ("stop", ["a", "b"], ["a", "b"], True),
        ("stop", ["a", "b"], ["b", "a"], False),
        ("stop", ["a"], "a", True),
        ("temperature", None, None, True),
        ("temperature", 0.2, None, False),
    ],
)
def test_same_parameter(name, want, have, same):
    assert same_parameter(name, want, have) is same


def test_modelfile_template_block():
    modelfile = 'FROM /blobs/sha256-x\nTEMPLATE """{{ .System }}\n{{ .Prompt }}"""\nSYSTEM hi\n'
    assert modelfile_template(modelfile) == "{{ .System }}\n{{ .Prompt }}"
    assert modelfile_template('FROM x\nTEMPLATE "{{ .Prompt }}"\n') == "{{ .Prompt }}"
    assert modelfile_template("FROM x\n") == ""


def _desired(**fields):
    spec, problems = check_model({"version": 1, "id": "m", "base": "llama3.2", **fields})
    assert spec is not None, problems
    return desired_models({"m": spec}, None)["m"]


BASE = Live(system="Base prompt.", parameters={"stop": ["<|eot_id|>"], "temperature": 0.6})


def test_inherited_base_values_are_not_drift():
    desired = _desired(parameters={"num_ctx": 4096})
    live = Live(
        parent_model="llama3.2:latest",
        system="Base prompt.",
        parameters={"stop": ["<|eot_id|>"], "temperature": 0.6, "num_ctx": 4096.0},
    )
    assert compare(desired, live, BASE) == []


def test_a_removed_key_or_system_is_drift_against_the_base():
    desired = _desired()
    live = Live(
        parent_model="llama3.2:latest",
        system="Old prompt.",
        parameters={"stop": ["<|eot_id|>"], "temperature": 0.6, "num_ctx": 4096.0},
    )
    assert compare(desired, live, BASE) == [
        FieldChange("system", "Old prompt.", "Base prompt."),
        FieldChange("parameters.num_ctx", 4096, None),
    ]


def test_without_the_base_only_what_the_definition_sets_is_judged():
    desired = _desired(parameters={"temperature": 0.3}, license="MIT")
    live = Live(
        parent_model="llama3.2:latest",
        license="LLAMA LICENSE\nMIT",
        parameters={"temperature": 0.3, "top_k": 5.0},
    )
    assert compare(desired, live, None) == []
    live = Live(
        parent_model="mistral:latest", license="LLAMA LICENSE", parameters={"temperature": 0.30001}
    )
    assert [c.field for c in compare(desired, live, None)] == [
        "base",
        "license",
        "parameters.temperature",
    ]


def test_messages_are_compared_in_order():
    desired = _desired(
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    )
    live = Live(parent_model="llama3.2:latest", messages=(("user", "hi"), ("assistant", "hey")))
    (change,) = compare(desired, live, None)
    assert change.field == "messages"
    assert change.after == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
    ]
