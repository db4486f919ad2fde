"""What adopting writes, without a server: names for this instance's ids, the places a field
occupies in a model file, round-trip edits, and where a new avatar goes."""

from __future__ import annotations

from typing import Any

import pytest

from modelops.reconcile import adopt_fields as af
from modelops.spec.checks import check_model
from modelops.spec.model import ModelSpec
from tests.helpers import png

# what a (hand-written) Open WebUI instance holds: kind -> {id: [names]}
OBJECTS: dict[str, dict[str, list[str]]] = {
    "tool": {"sql_runner": ["SQL Runner"], "web": ["Web Search"]},
    "group": {"g-1": ["Support"], "g-2": ["Admins"], "g-3": ["Admins"]},
    "user": {"u-1": ["Alice", "alice@example.com", "alice"]},
    "collection": {"kb-1": ["Handbook"], "kb-2": ["Notes"], "kb-3": ["Notes"]},
}


def _lookup(kind: str, name: str) -> set[str]:
    found = OBJECTS.get(kind, {})
    return {i for i, names in found.items() if name == i or name in names}


def _labels(kind: str, ident: str) -> list[str]:
    return OBJECTS.get(kind, {}).get(ident, [])


NAMING = af.Naming(_lookup, _labels)


def _spec(**fields: Any) -> ModelSpec:
    spec, problems = check_model({"version": 1, "id": "m", "base": "llama3.2", **fields})
    assert spec is not None, problems
    return spec


@pytest.mark.parametrize(
    ("field", "locs"),
    [
        ("system", [("system",)]),
        ("parameters.num_predict", [("parameters", "num_predict")]),
        ("openwebui.params.keep_alive", [("openwebui", "params", "keep_alive")]),
        ("openwebui.meta.builtinTools", [("openwebui", "meta", "builtinTools")]),
        ("openwebui.meta.ollama", [("messages",), ("license",), ("openwebui", "meta", "ollama")]),
        ("access", [("access",)]),
    ],
)
def test_each_field_the_plan_names_has_its_place_in_a_model_file(field, locs):
    assert af.spec_locs(field) == locs


def test_an_id_becomes_the_name_the_registry_would_write():
    # a tool by its id, which people choose; a group or user by a name that names it alone
    assert NAMING.name("tool", "sql_runner") == "sql_runner"
    assert NAMING.name("group", "g-1") == "Support"
    assert NAMING.name("user", "u-1") == "Alice"
    # two groups are called Admins: the id is the only name that says which
    assert NAMING.name("group", "g-2") == "g-2"
    # a name the registry already uses for that object is kept
    assert NAMING.name("tool", "sql_runner", ["SQL Runner"]) == "SQL Runner"
    assert NAMING.name("user", "u-1", ["alice@example.com"]) == "alice@example.com"
    # ... but not a name of another object
    assert NAMING.name("group", "g-1", ["Admins"]) == "Support"
    # an object this instance does not list keeps its id
    assert NAMING.name("tool", "gone") == "gone"


def _record(**meta: Any) -> dict[str, Any]:
    grants = meta.pop("grants", [])
    return {
        "id": "m",
        "base_model_id": "llama3.2:latest",
        "name": "m",
        "params": {},
        "meta": meta,
        "access_grants": grants,
    }


def test_a_live_record_reads_back_in_the_registry_s_names():
    record = _record(
        toolIds=["sql_runner", "web"],
        knowledge=[
            {"id": "kb-1", "name": "Handbook", "type": "collection", "description": "d"},
            {"id": "kb-2", "name": "Notes", "type": "collection"},
            {"id": "kb-9", "name": "Old", "type": "collection"},
        ],
        grants=[
            {"principal_type": "user", "principal_id": "*", "permission": "read"},
            {"principal_type": "group", "principal_id": "g-1", "permission": "read"},
            {"principal_type": "user", "principal_id": "u-1", "permission": "write"},
        ],
    )
    known = _spec(
        tools=["Web Search"],
        knowledge=[{"name": "Old", "type": "collection", "id": "kb-9"}],
    )
    data = af.live_data(record, "m", set(), known, NAMING, {}).data
    assert data["tools"] == ["sql_runner", "Web Search"]
    assert data["knowledge"] == [
        {"name": "Handbook", "type": "collection", "description": "d"},  # by name: portable
        {"name": "Notes", "type": "collection", "id": "kb-2"},  # two are called Notes
        {"name": "Old", "type": "collection", "id": "kb-9"},  # as the registry names it
    ]
    assert data["access"] == {
        "public": True,
        "read": {"groups": ["Support"], "users": []},
        "write": {"groups": [], "users": ["Alice"]},
    }
    # wrapping an Ollama target: the Ollama model made for a registry model means that model
    wrapped = af.live_data(_record(), "m", {"tutor"}, None, NAMING, {"llama3.2:latest": "tutor"})
    assert wrapped.data["base"] == "tutor"


RAW = b"""# yaml-language-server: $schema=../model.schema.json
version: 1
id: m
base: llama3.2   # the small one
# how it talks
system: Be brief.
parameters:
  temperature: 0.4  # tuned by hand
  num_ctx: 4096
tags: [a, b]
"""


def test_an_edit_changes_only_the_lines_of_the_fields_it_is_given():
    new = {
        "system": "Be very brief.",
        "parameters": {"temperature": 0.4, "top_k": 20},
        "access": {"read": {"users": [], "groups": ["Support"]}, "public": True},
    }
    locs = [
        ("system",),
        ("parameters", "top_k"),
        ("parameters", "num_ctx"),
        ("tags",),
        ("access",),
    ]
    assert af.edited(RAW, new, locs).decode() == (
        "# yaml-language-server: $schema=../model.schema.json\n"
        "version: 1\n"
        "id: m\n"
        "base: llama3.2   # the small one\n"
        "# how it talks\n"
        "system: Be very brief.\n"
        "parameters:\n"
        "  temperature: 0.4  # tuned by hand\n"
        "  top_k: 20\n"
        "access:\n"
        "  public: true\n"
        "  read: {groups: [Support], users: []}\n"
    )
    # the last parameter removed takes its mapping with it; a copy gets its own id
    edited = af.edited(RAW, {}, [("parameters", "temperature"), ("parameters", "num_ctx")], "m2")
    assert b"parameters" not in edited and b"id: m2\n" in edited


def test_a_new_avatar_never_overwrites_a_file_and_shares_an_identical_one():
    image, other = png((2, 2)), png((3, 3))
    files = {"avatars/m.png": other, "avatars/m-2.png": other, "avatars/x.png": image}
    read = files.get
    assert af.avatar_path("m", image, "png", read, {"avatars/x.png": {"x"}}) == "avatars/x.png"
    # the same bytes in a file no model shows are not taken (it may be on its way out)
    assert af.avatar_path("m", image, "png", read, {}) == "avatars/m-3.png"
    assert af.avatar_path("n", image, "webp", read, {}) == "avatars/n.webp"


def test_changes_name_each_place_once_with_before_and_after():
    old = {"system": "a", "parameters": {"temperature": 0.4}}
    new = {"system": "b", "parameters": {"temperature": 0.4}, "hidden": True}
    locs = [("system",), ("parameters", "temperature"), ("hidden",), ("system",)]
    assert [(c.field, c.before, c.after) for c in af.changes(old, new, locs)] == [
        ("system", "a", "b"),
        ("hidden", None, True),
    ]
