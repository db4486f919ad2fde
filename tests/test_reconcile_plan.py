"""The plan on its own: ordering, dependencies, the quick path, ownership and pruning. Pure."""

from __future__ import annotations

from modelops.reconcile.desired import creation_order, desired_models
from modelops.reconcile.drift import Live
from modelops.reconcile.ownership import owner
from modelops.reconcile.plan import host_changes, to_inspect
from modelops.reconcile.record import Recorded
from modelops.spec.checks import check_model
from modelops.targets.ollama import Tag

HOST = "http://h:11434"


def _specs(**bases: str):
    out = {}
    for model_id, base in bases.items():
        spec, problems = check_model({"version": 1, "id": model_id, "base": base})
        assert spec is not None, problems
        out[model_id] = spec
    return out


def _tag(name: str, digest: str = "d", parent: str = "") -> tuple[str, Tag]:
    from modelops.spec.names import parse_ollama_name

    return parse_ollama_name(name).key, Tag(name, digest, parent)


def test_from_empty_pulls_then_parents_before_children():
    desired = desired_models(_specs(child="parent", parent="mistral", other="mistral"), None)
    assert creation_order(desired) == ["parent", "child", "other"]
    changes = host_changes(HOST, desired, {}, {}, {}, lambda n: False, prune=False)
    assert [(c.action, c.name) for c in changes] == [
        ("pull", "mistral:latest"),
        ("create", "parent:latest"),
        ("create", "child:latest"),
        ("create", "other:latest"),
    ]
    child = changes[2]
    assert child.needs == ("model:registry.ollama.ai/library/parent:latest",)
    assert child.request == {"model": "child:latest", "from": "parent:latest"}
    assert changes[1].needs == ("pull:registry.ollama.ai/library/mistral:latest",)


def test_a_record_that_vouches_means_no_inspection():
    desired = desired_models(_specs(m="mistral"), None)
    tags = dict([_tag("mistral:latest", "base1"), _tag("m:latest", "live1", "mistral:latest")])
    record = {desired["m"].key: Recorded(desired["m"].spec_hash, "live1", "base1")}
    assert to_inspect(desired, tags, record) == []
    (change,) = host_changes(HOST, desired, tags, {}, record, lambda n: False, prune=False)
    assert (change.action, change.reason) == ("noop", "in sync")
    # a re-pulled base, a changed spec or a changed live model each need a look
    moved = dict(tags) | dict([_tag("mistral:latest", "base2")])
    assert to_inspect(desired, moved, record) == ["m:latest", "mistral:latest"]
    stale = {desired["m"].key: Recorded("old-spec", "live1", "base1")}
    assert to_inspect(desired, tags, stale) == ["m:latest", "mistral:latest"]


def test_a_re_pulled_base_recreates_the_model():
    desired = desired_models(_specs(m="mistral"), None)
    tags = dict([_tag("mistral:latest", "base2"), _tag("m:latest", "live1", "mistral:latest")])
    record = {desired["m"].key: Recorded(desired["m"].spec_hash, "live1", "base1")}
    lives = {desired["m"].key: Live(parent_model="mistral:latest")}
    (change,) = host_changes(HOST, desired, tags, lives, record, lambda n: False, prune=False)
    assert (change.action, change.reason) == ("update", "its base mistral:latest was updated")


def test_deletes_only_for_owned_models_and_held_without_prune():
    desired = desired_models(_specs(keep="mistral"), None)
    tags = dict(
        [
            _tag("mistral:latest"),
            _tag("keep:latest"),
            _tag("gone:latest"),
            _tag("gone:v2"),
            _tag("stranger:latest"),
        ]
    )
    owned = owner(None, {"keep", "gone"})
    lives = {desired["keep"].key: Live(parent_model="mistral:latest")}
    changes = host_changes(HOST, desired, tags, lives, {}, owned, prune=False)
    deletes = [(c.name, c.enabled) for c in changes if c.action == "delete"]
    assert deletes == [("gone:latest", False)]
    changes = host_changes(HOST, desired, tags, lives, {}, owned, prune=True)
    assert [(c.name, c.enabled) for c in changes if c.action == "delete"] == [("gone:latest", True)]


def test_ownership_rules():
    plain = owner(None, {"faq"})
    assert plain("faq:latest")
    assert plain("FAQ:latest")
    assert not plain("faq:v2")
    assert not plain("team/faq:latest")
    assert not plain("hf.co/u/faq:latest")
    spaced = owner("team", set())
    assert spaced("team/anything:v1")
    assert not spaced("faq:latest")
    assert not spaced("other/faq:latest")


def test_namespaced_children_come_from_the_namespaced_parent():
    desired = desired_models(_specs(child="parent", parent="mistral"), "team")
    assert desired["child"].request == {"model": "team/child:latest", "from": "team/parent:latest"}
    assert desired["child"].root == "mistral:latest"
