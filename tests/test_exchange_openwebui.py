"""Round trips between model definitions and Open WebUI's JSON, as properties. Pure.

Identity is up to the values that mean "unset": `active: true`, `hidden: false`, a name equal
to the id, empty `parameters`, `access.public: false` and empty access lists are what Open WebUI
stores for a model that does not set them, so they come back absent.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelops.exchange import openwebui_export as export
from modelops.exchange import openwebui_import as owui
from modelops.exchange import openwebui_shapes as shapes
from modelops.spec.avatar import EXTENSIONS, data_uri
from modelops.spec.checks import check_model
from modelops.spec.model import CAPABILITIES, MANAGED_META, MANAGED_PARAMS, ModelSpec
from modelops.spec.params import CATALOGUE
from tests.helpers import DATA

OPENWEBUI_FILES = DATA / "openwebui"  # real Open WebUI files; see its README
text = st.text(
    alphabet=string.ascii_letters + string.digits + " .,!?-_'\"\n:#é", min_size=1, max_size=40
)
word = st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12)
ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}", fullmatch=True)
bases = st.sampled_from(
    [
        "llama3.2:latest",
        "mistral:7b",
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        "team/m:v1",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(word, inner, max_size=3),
    max_leaves=6,
)


def _param_value(name: str) -> st.SearchStrategy[Any]:
    param = CATALOGUE[name]
    low = -5 if param.minimum is None else param.minimum
    high = 100_000 if param.maximum is None else param.maximum
    return {
        "int": st.integers(int(low), int(high)),
        "float": st.floats(low, high, allow_nan=False, width=32),
        "bool": st.booleans(),
        "str_list": st.lists(text, min_size=1, max_size=3),
    }[param.type]


parameters = st.sets(st.sampled_from(sorted(CATALOGUE)), max_size=6).flatmap(
    lambda keys: st.fixed_dictionaries({k: _param_value(k) for k in keys})
)
principals = st.fixed_dictionaries(
    {
        "groups": st.lists(word, max_size=3, unique=True),
        "users": st.lists(word, max_size=3, unique=True),
    }
)
optional = {
    "name": text,
    "description": text,
    "tags": st.lists(text.map(str.strip).filter(bool), max_size=3, unique=True),
    "hidden": st.booleans(),
    "active": st.booleans(),
    "system": text,
    "parameters": parameters,
    "template": text,
    "messages": st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["system", "user", "assistant"]), "content": text}
        ),
        min_size=1,
        max_size=3,
    ),
    "license": text | st.lists(text, min_size=1, max_size=2),
    "suggestions": st.lists(
        st.fixed_dictionaries(
            {"prompt": text.filter(lambda t: t.strip())},
            optional={"title": text, "subtitle": text},
        ),
        max_size=3,
    ),
    "knowledge": st.lists(
        st.fixed_dictionaries(
            {"name": text, "type": st.sampled_from(["collection", "file", "note"])},
            optional={"id": word, "description": text, "context": st.just("full")},
        ),
        max_size=2,
    ),
    "tools": st.lists(word, max_size=3),
    "filters": st.lists(word, max_size=2),
    "actions": st.lists(word, max_size=2),
    "capabilities": st.dictionaries(st.sampled_from(CAPABILITIES), st.booleans(), max_size=4),
    "access": st.fixed_dictionaries(
        {}, optional={"public": st.booleans(), "read": principals, "write": principals}
    ),
    "openwebui": st.fixed_dictionaries(
        {},
        optional={
            "params": st.dictionaries(
                word.filter(lambda k: k not in CATALOGUE and k not in MANAGED_PARAMS),
                json_values.filter(lambda v: v is not None and v != ""),
                max_size=3,
            ),
            "meta": st.dictionaries(
                word.filter(lambda k: k not in MANAGED_META and k not in export.DECLARED_META),
                json_values,
                max_size=3,
            ),
        },
    ),
}
specs = st.fixed_dictionaries(
    {"version": st.just(1), "id": ids, "base": bases},
    optional=optional,
)


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """What a definition means, with unset-equivalent values left out."""
    out = dict(data)
    if out.get("active") is True:
        del out["active"]
    if out.get("hidden") is False:
        del out["hidden"]
    if out.get("name") == out["id"]:
        del out["name"]
    if out.get("parameters") == {}:
        del out["parameters"]
    access = dict(out.get("access") or {})
    if not access.get("public"):
        access.pop("public", None)
    for level in ("read", "write"):
        block = access.get(level)
        if block is not None and not (block.get("groups") or block.get("users")):
            del access[level]
        elif block is not None:
            access[level] = {"groups": block.get("groups", []), "users": block.get("users", [])}
    if access:
        out["access"] = access
    else:
        out.pop("access", None)
    webui = {k: v for k, v in (out.get("openwebui") or {}).items() if v}
    if webui:
        out["openwebui"] = webui
    else:
        out.pop("openwebui", None)
    return out


def _round_trip(spec: ModelSpec) -> ModelSpec:
    record = export.to_record(spec, registry_ids={}, avatar=None, created_at=1, updated_at=2)
    record = json.loads(json.dumps(record))  # through real JSON text
    definition = owui.to_definition(
        record, spec.id, set(), avatar_limit=256 * 1024, drop_bad_avatars=False
    )
    back, problems = check_model(definition.data)
    assert back is not None, problems
    assert definition.notes == []
    return back


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_spec_to_json_to_spec_is_the_identity(data: dict[str, Any]):
    spec, problems = check_model(data)
    assert spec is not None, problems
    assert canonical(_round_trip(spec).to_data()) == canonical(spec.to_data())


def _kept(record: dict[str, Any]) -> dict[str, Any]:
    """The fields Open WebUI keeps for a model: all but the server's own bookkeeping."""
    out = {
        k: v for k, v in record.items() if k not in owui.SERVER_OWNED | {"background_image_data"}
    }
    out["access_grants"] = sorted(
        (g["principal_type"], g["principal_id"], g["permission"]) for g in record["access_grants"]
    )
    return out


def test_a_real_export_keeps_every_field_open_webui_keeps():

    records = json.loads((OPENWEBUI_FILES / "export-0.12.4.json").read_text())
    for record in records:
        definition = owui.to_definition(
            record, record["id"], set(), avatar_limit=256 * 1024, drop_bad_avatars=False
        )
        data = dict(definition.data)
        if definition.avatar is not None:
            data["avatar"] = f"avatars/{record['id']}.{EXTENSIONS[definition.avatar_kind]}"
        spec, problems = check_model(data)
        assert spec is not None, problems
        avatar = data_uri(definition.avatar, definition.avatar_kind) if definition.avatar else None
        again = export.to_record(spec, registry_ids={}, avatar=avatar, created_at=0, updated_at=0)
        assert _kept(again) == _kept(record), record["id"]
        assert list(again) == list(record)  # Open WebUI's key order
        assert list(again["meta"])[:8] == list(export.DECLARED_META)


def test_registry_bases_stay_registry_ids_and_ollama_bases_are_written_in_full():
    child, _ = check_model({"version": 1, "id": "poet", "base": "writer"})
    short, _ = check_model({"version": 1, "id": "faq", "base": "mistral"})
    assert child is not None and short is not None
    assert (
        export.to_record(
            child, registry_ids={"writer": 1}, avatar=None, created_at=0, updated_at=0
        )["base_model_id"]
        == "writer"
    )
    assert (
        export.to_record(short, registry_ids={}, avatar=None, created_at=0, updated_at=0)[
            "base_model_id"
        ]
        == "mistral:latest"
    )


def test_access_and_num_predict_under_open_webui_names():
    spec, _ = check_model(
        {
            "version": 1,
            "id": "m",
            "base": "mistral",
            "parameters": {"num_predict": 64},
            "access": {"public": True, "read": {"groups": ["eng"]}, "write": {"users": ["ana"]}},
        }
    )
    assert spec is not None
    record = export.to_record(spec, registry_ids={}, avatar=None, created_at=5, updated_at=5)
    assert record["params"] == {"max_tokens": 64}
    assert [
        (g["principal_type"], g["principal_id"], g["permission"]) for g in record["access_grants"]
    ] == [
        ("user", "*", "read"),
        ("group", "eng", "read"),
        ("user", "ana", "write"),
    ]
    grant = record["access_grants"][0]
    assert grant["resource_type"] == "model" and grant["resource_id"] == "m"
    again = export.to_record(spec, registry_ids={}, avatar=None, created_at=5, updated_at=5)
    assert again == record  # grant ids are stable: diffs of exports stay small


def test_legacy_shapes_normalise():
    document = json.loads((OPENWEBUI_FILES / "legacy-shapes.json").read_text())
    found = shapes.entries(document)
    assert [e.source_id for e in found] == [
        "lg-old-style",
        "lg-wrapped",
        "lg-self-base",
        "lg-inactive",
    ]
    old = owui.to_definition(
        found[0].record, "lg-old-style", set(), avatar_limit=1, drop_bad_avatars=False
    )
    assert old.data["access"] == {"public": True}  # access_control: null meant public
    assert old.data["tags"] == ["plain-string-tag", "dict-tag"]
    assert "avatar" not in old.data and old.avatar is None  # the default favicon
    wrapped = owui.to_definition(
        found[1].record, "lg-wrapped", set(), avatar_limit=1, drop_bad_avatars=False
    )
    assert wrapped.data["name"] == "Wrapped info"
    assert wrapped.data["parameters"] == {"temperature": 0.1}
    inactive = owui.to_definition(
        found[3].record, "lg-inactive", set(), avatar_limit=1, drop_bad_avatars=False
    )
    assert inactive.data["active"] is False


def test_a_0_1_modelfile_entry():
    entry = {
        "tagName": "mario:latest",
        "title": "Mario",
        "desc": "It's-a me",
        "imageUrl": None,
        "content": 'FROM llama2\nSYSTEM """You are Mario."""\nPARAMETER temperature 1\nPARAMETER stop <|im_end|>\nPARAMETER stop "###"\n',
        "suggestionPrompts": [{"content": "Jump!"}],
        "categories": ["fun"],
    }
    (found,) = shapes.entries([entry])
    definition = owui.to_definition(
        found.record, "mario", set(), avatar_limit=1, drop_bad_avatars=False
    )
    assert definition.data == {
        "version": 1,
        "id": "mario",
        "name": "Mario",
        "base": "llama2",
        "system": "You are Mario.",
        "parameters": {"temperature": 1.0, "stop": ["<|im_end|>", "###"]},
        "description": "It's-a me",
        "suggestions": [{"prompt": "Jump!"}],
        "tags": ["fun"],
        "access": {"public": True},
    }
