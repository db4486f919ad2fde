"""Random YAML to `validate` and random JSON to `import` (hypothesis): whatever comes in, the
answer is exit 0 or 1 with lines that say where, never an internal error (70) or a traceback,
and an import that fails leaves the repository as it was. The documents are near misses of
real ones (the fields, parameters and shapes modelops knows, with wrong, huge, non-finite,
deep and control-character values), then cut, spliced or salted with YAML and JSON syntax."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelops.spec.model import FIELDS
from modelops.spec.params import CATALOGUE, REMOVED
from tests.helpers import RegistryFixture, run

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

texts = st.text(max_size=20) | st.sampled_from(
    [
        "",
        " ",
        "nl\n",
        "\t",
        "\x00",
        "\x1b[2J",
        "\ufeff",
        "é",
        "💥",
        "yes",
        "~",
        "*a",
        "&a x",
        "!!binary",
    ]
)
numbers = (
    st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64)
    | st.just(10**300)
    | st.floats()  # NaN and infinities included
    | st.sampled_from([math.nan, math.inf, -math.inf, 1e39, -1e39, 3.4e38, -0.0])
)
scalars = st.none() | st.booleans() | numbers | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)
deep = st.integers(95, 130).map(lambda n: json.loads("[" * n + "]" * n))


def _near_misses(names: list[str], *more: str) -> st.SearchStrategy[str]:
    return st.sampled_from(names + list(more))


model_docs = st.dictionaries(
    _near_misses(list(FIELDS), "sytem", "parameter", "<<", ""),
    values | deep,
    max_size=8,
).flatmap(
    lambda extra: st.fixed_dictionaries(
        {
            "version": st.sampled_from([1, 1, 1, 2, "1", None, 1.0]),
            "id": st.sampled_from(["fuzz", "fuzz", "Fuzz", "fuzz\n", "other", ""]),
            "base": st.sampled_from(["mistral", "fuzz", "other", "Llama 3", "", "x\n", None]),
        },
        optional={
            "parameters": st.dictionaries(
                _near_misses(list(CATALOGUE) + list(REMOVED), "temprature"), values, max_size=5
            ),
            "openwebui": st.fixed_dictionaries({}, optional={"params": values, "meta": values}),
            "access": values,
            "avatar": st.sampled_from(["avatars/x.png", "/dev/zero", "../x.png", "data:x", ""]),
        },
    ).map(lambda doc: {**extra, **doc})
)
config_docs = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 2, None])},
    optional={
        "targets": st.dictionaries(
            texts,
            st.fixed_dictionaries(
                {"type": st.sampled_from(["ollama", "openwebui", "k8s", None])},
                optional={
                    "host": texts | st.sampled_from(["http://h:99999", "ftp://x", "h:1", "[::1"]),
                    "hosts": st.lists(texts, max_size=3) | values,
                    "url": texts,
                    "timeout": numbers | texts,
                    "retries": numbers,
                    "namespace": texts,
                },
            ),
            max_size=3,
        ),
        "default_target": texts,
    },
)
SALT = ["\n", ": ", "- ", "[", "]", "{", "}", "'", '"', "&a ", "*a", "!!python/name:os.system ", "\t", "<<<<<<< x\n", "\x00", "\\", ",", "NaN", "1e999"]  # fmt: skip


@st.composite
def mangled(draw: st.DrawFn, text: str) -> str:
    """`text` as written, cut short, or with syntax salted in at a random place."""
    how = draw(st.sampled_from(["as is", "as is", "cut", "salted", "spliced"]))
    if how == "as is" or not text:
        return text
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at]
    if how == "salted":
        return text[:at] + draw(st.sampled_from(SALT)) + text[at:]
    end = draw(st.integers(at, len(text)))
    return text[:at] + text[end:] + text[at:end]


def _yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)


yaml_texts = (model_docs.map(_yaml) | st.text(max_size=200)).flatmap(mangled)
config_texts = config_docs.map(_yaml).flatmap(mangled)


def _no_crash(result: Any) -> None:
    assert result.code in (0, 1), (result.code, result.err)
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    if result.code == 1:
        assert (result.err + result.out).strip(), "a failure says why"


@pytest.fixture
def fuzz_reg(reg: RegistryFixture) -> RegistryFixture:
    reg.add("other", base="mistral")
    return reg


@FUZZ
@given(text=yaml_texts)
def test_validate_never_crashes_on_a_model_file(fuzz_reg: RegistryFixture, text: str):
    (fuzz_reg.root / "models" / "fuzz.yaml").write_text(text, encoding="utf-8")
    result = run("validate")
    _no_crash(result)
    assert result.code == 1 or result.out.startswith("ok: ")


@FUZZ
@given(text=config_texts)
def test_validate_never_crashes_on_modelops_yaml(fuzz_reg: RegistryFixture, text: str):
    (fuzz_reg.root / "modelops.yaml").write_text(text, encoding="utf-8")
    _no_crash(run("validate"))


records = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b", "parent", "Acme Helper", "llama3.2:latest", ""]) | texts,
        "base_model_id": st.sampled_from(["llama3.2:latest", "parent", "a", None, "Llama 3"])
        | values,
        "name": texts | values,
        "params": st.dictionaries(
            _near_misses(list(CATALOGUE), "system", "template", "max_tokens", "x"), values
        )
        | values,
        "meta": st.dictionaries(
            _near_misses(
                [
                    "description",
                    "profile_image_url",
                    "tags",
                    "hidden",
                    "suggestion_prompts",
                    "knowledge",
                    "toolIds",
                    "filterIds",
                    "actionIds",
                    "capabilities",
                    "ollama",
                ],
                "x",
            ),
            values | deep,
        )
        | values,
        "access_control": values,
        "access_grants": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "principal_type": st.sampled_from(["user", "group", "anyone"]) | values,
                    "principal_id": texts | values,
                    "permission": st.sampled_from(["read", "write", "admin"]) | values,
                },
            )
            | values
        )
        | values,
        "is_active": values,
        "object": st.just("model"),
        "owned_by": st.sampled_from(["arena", "openai"]),
        "info": values,
        "tagName": texts,
        "content": st.sampled_from(["FROM llama3.2\nSYSTEM hi\n", "PARAMETER x 1", ""]) | texts,
    },
)
documents = (
    st.lists(records | values, max_size=5)
    | records
    | st.fixed_dictionaries({"models": st.lists(records, max_size=3) | values})
    | values
    | deep
)


def _json(document: Any) -> str:
    return json.dumps(document, allow_nan=True, ensure_ascii=False)  # NaN: not JSON, on purpose


json_texts = (documents.map(_json) | st.text(max_size=200)).flatmap(mangled)


@FUZZ
@given(text=json_texts)
def test_import_never_crashes_and_a_failure_changes_nothing(
    fuzz_reg: RegistryFixture, tmp_path: Path, text: str
):
    head = fuzz_reg.head()
    source = tmp_path / "in.json"
    source.write_text(text, encoding="utf-8")
    try:
        result = run("import", str(source))
        _no_crash(result)
        assert fuzz_reg.status() == "", "nothing is left uncommitted"
        if fuzz_reg.head() == head:
            assert "committed" not in result.out
        else:  # what was imported is one commit, and the registry is still valid
            assert fuzz_reg.git("rev-parse", "HEAD~1").strip() == head
            assert run("validate").code == 0
    finally:
        fuzz_reg.git("reset", "-q", "--hard", head)
        fuzz_reg.git("clean", "-q", "-fdx", ".")


def test_the_strategies_reach_the_cases_that_matter():
    """The fuzzers above are only as good as what they generate: these are all in reach."""
    assert math.isnan(float("nan")) and "NaN" in SALT and "1e999" in SALT
    found = {"nan": False, "deep": False, "huge": False}

    @settings(max_examples=300, deadline=None)
    @given(values | deep)
    def look(value: Any) -> None:
        text = _json(value)
        found["nan"] |= "NaN" in text or "Infinity" in text
        found["deep"] |= text.startswith("[" * 100)
        found["huge"] |= any(len(part) > 100 for part in text.split(","))

    look()
    assert all(found.values()), found
