"""Registry ids and Ollama's model name grammar."""

from __future__ import annotations

import pytest

from modelops.spec import names


@pytest.mark.parametrize(
    ("text", "display", "key"),
    [
        ("llama3.2", "llama3.2:latest", "registry.ollama.ai/library/llama3.2:latest"),
        ("Llama3.2:3B", "Llama3.2:3B", "registry.ollama.ai/library/llama3.2:3b"),
        ("registry.ollama.ai/library/mistral:latest", "mistral:latest", None),
        ("myns/foo", "myns/foo:latest", "registry.ollama.ai/myns/foo:latest"),
        ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", None, None),
        ("localhost:5000/team/model:v1", "localhost:5000/team/model:v1", None),
        ("https://hf.co/u/r:Q8_0", "hf.co/u/r:Q8_0", None),
    ],
)
def test_valid_names_and_their_forms(text: str, display: str | None, key: str | None):
    name = names.parse_ollama_name(text)
    assert name.display == (display or text)
    if key:
        assert name.key == key


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Llama 3", "invalid model 'Llama 3'"),
        ("model@sha256:abc", "'@' is not allowed"),
        ("a/b/c/d", "too many '/'"),
        ("my.ns/model", "invalid namespace 'my.ns'"),
        ("model:", "invalid tag"),
        (":tag", "invalid model"),
        ("-model", "invalid model '-model'"),
        ("ftp://host/m", "unknown scheme 'ftp'"),
        ("x" * 81, "invalid model"),
    ],
)
def test_invalid_names_say_why(text: str, reason: str):
    with pytest.raises(names.InvalidName, match=reason):
        names.parse_ollama_name(text)


def test_registry_ids():
    assert names.is_valid_id("sql-tutor.v2_b")
    assert not names.is_valid_id("SQL")
    assert not names.is_valid_id("-x")
    assert not names.is_valid_id("a/b")
    assert not names.is_valid_id("x" * 81)
    assert names.is_valid_id("x" * 80)


def test_reserved_tags():
    assert names.reserved_tag(names.parse_ollama_name("m:cloud"))
    assert names.reserved_tag(names.parse_ollama_name("m:70b-cloud"))
    assert not names.reserved_tag(names.parse_ollama_name("m:latest"))


def test_version_tuples():
    from modelops.spec.params import too_new, version_tuple

    assert version_tuple("0.12.6-rc1") == (0, 12, 6)
    assert version_tuple("0.5.10") > version_tuple("0.5.5")
    assert version_tuple("garbage") == (0,)
    assert too_new("draft_num_predict", "0.29.9") == "0.30.0"
    assert too_new("draft_num_predict", "0.30.0") is None
    assert too_new("temperature", "0.1.0") is None


@pytest.mark.parametrize("text", ["nl\n", "nl\n\n", "\nnl", "n\nl"])
def test_a_newline_is_never_part_of_an_id(text: str):
    # Python's `$` matches before a final newline: the check must hold to the end of the text
    assert not names.is_valid_id(text)


@pytest.mark.parametrize("text", ["llama3.2\n", "llama3.2:latest\n", "ns/model\n", "h.io/ns/m\n"])
def test_a_newline_is_never_part_of_an_ollama_name(text: str):
    with pytest.raises(names.InvalidName):
        names.parse_ollama_name(text)


def test_the_model_file_check_refuses_an_id_with_a_final_newline():
    from modelops.spec.checks import check_model

    spec, problems = check_model({"version": 1, "id": "nl\n", "base": "llama3.2"})
    assert spec is None
    assert [loc for loc, _ in problems] == [("id",)]
    spec, problems = check_model({"version": 1, "id": "nl", "base": "llama3.2"})
    assert spec is not None and not problems
