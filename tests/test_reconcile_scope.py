"""A plan narrowed to some registry ids: those models and the models built on them are planned,
with the pulls they need; every other model is left unobserved and undeleted."""

from __future__ import annotations

from modelops.reconcile.desired import desired_models
from modelops.reconcile.ownership import owner
from modelops.reconcile.plan import host_changes, scope, to_inspect
from modelops.spec.model import ModelSpec
from modelops.targets.ollama import Tag

HOST = "http://h:11434"


def spec(model_id: str, base: str, **fields: object) -> ModelSpec:
    return ModelSpec.model_validate({"version": 1, "id": model_id, "base": base, **fields})


def desired():
    specs = {
        "faq": spec("faq", "mistral", system="Briefly."),
        "writer": spec("writer", "llama3.1:8b"),
        "poet": spec("poet", "writer", system="Poems."),
        "haiku": spec("haiku", "poet"),
    }
    return desired_models(specs, None)


def test_the_scope_of_an_id_holds_every_model_built_on_it():
    d = desired()
    assert scope(d, {"writer"}, None).ids == {"writer", "poet", "haiku"}
    assert scope(d, {"poet"}, None).ids == {"poet", "haiku"}
    assert scope(d, {"faq", "gone"}, "team").keys == {
        "registry.ollama.ai/team/faq:latest",
        "registry.ollama.ai/team/gone:latest",
    }
    assert scope(d, {"Not A Name"}, None).keys == frozenset()


def test_only_the_scope_is_planned_with_the_pulls_it_needs():
    d = desired()
    changes = host_changes(HOST, d, {}, {}, {}, lambda name: False, False, scope(d, {"poet"}, None))
    assert [(c.action, c.name) for c in changes] == [
        ("create", "poet:latest"),
        ("create", "haiku:latest"),
    ]
    changes = host_changes(
        HOST, d, {}, {}, {}, lambda name: False, False, scope(d, {"writer"}, None)
    )
    assert [(c.action, c.name) for c in changes] == [
        ("pull", "llama3.1:8b"),
        ("create", "writer:latest"),
        ("create", "poet:latest"),
        ("create", "haiku:latest"),
    ]
    unscoped = host_changes(HOST, d, {}, {}, {}, lambda name: False, False)
    assert len(unscoped) == 6  # two pulls, four creates: the scope is what narrows it


def test_only_the_scope_is_inspected_and_only_its_models_are_deleted():
    d = desired()
    tags = {
        f"registry.ollama.ai/library/{name}": Tag(name, f"sha256:{n}", "")
        for n, name in enumerate(["faq:latest", "mistral:latest", "old:latest", "older:latest"])
    }
    owned = owner(None, {"faq", "old", "older"})
    only = scope(d, {"old"}, None)
    assert to_inspect(d, tags, {}, only) == []
    changes = host_changes(HOST, d, tags, {}, {}, owned, True, only)
    assert [(c.action, c.name) for c in changes] == [("delete", "old:latest")]
