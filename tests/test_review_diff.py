"""The semantic diff on values: fields, inheritance through bases, renames, clones, labels and
avatars. Each expectation is written out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelops.review.diff import AvatarDiff, Image, Side, compare
from modelops.review.fields import FieldDiff
from modelops.spec.model import ModelSpec


def spec(model_id: str, base: str = "llama3.2:latest", **fields: Any) -> ModelSpec:
    return ModelSpec.model_validate({"version": 1, "id": model_id, "base": base, **fields})


def side(label: str, *specs: ModelSpec, files: dict[str, bytes] | None = None) -> Side:
    found = files or {}
    return Side(label, {s.id: s for s in specs}, found.get)


@dataclass(frozen=True)
class Commit:
    sha: str
    op: str
    models: tuple[str, ...]
    source: str | None = None
    subject: str = ""


def only(diff, model_id):
    (found,) = [m for m in diff.models if m.id == model_id]
    return found


def test_nothing_changed_is_an_empty_diff():
    a = spec("faq", system="Hi.")
    diff = compare(side("a", a), side("b", spec("faq", system="Hi.")))
    assert diff.empty
    assert diff.unchanged == 1
    assert diff.counts() == {
        "added": 0,
        "cloned": 0,
        "renamed": 0,
        "changed": 0,
        "removed": 0,
        "inherited": 0,
    }


def test_each_changed_field_with_before_and_after_nested_keys_apart():
    before = spec(
        "faq",
        system="Answer.",
        parameters={"temperature": 0.2, "top_k": 40},
        access={"public": False, "read": {"groups": ["a"]}},
        capabilities={"vision": True},
        tags=["x"],
    )
    after = spec(
        "faq",
        system="Answer briefly.",
        parameters={"temperature": 0.3, "num_ctx": 4096},
        access={"public": False, "read": {"groups": ["a", "b"]}},
        capabilities={"vision": False},
        tags=["x"],
    )
    model = only(compare(side("a", before), side("b", after)), "faq")
    assert model.status == "changed"
    assert model.fields == (
        FieldDiff("system", "Answer.", "Answer briefly."),
        FieldDiff("parameters.num_ctx", None, 4096),
        FieldDiff("parameters.temperature", 0.2, 0.3),
        FieldDiff("parameters.top_k", 40, None),
        FieldDiff("capabilities.vision", True, False),
        FieldDiff("access.read.groups", ["a"], ["a", "b"]),
    )
    assert model.labels == ("shared with group b",)


def test_an_empty_list_reads_as_unset_but_an_empty_stop_list_does_not():
    before = spec("faq", tags=[], access={"read": {"users": []}}, parameters={"stop": ["x"]})
    after = spec("faq", parameters={"stop": []})
    model = only(compare(side("a", before), side("b", after)), "faq")
    assert model.fields == (FieldDiff("parameters.stop", ["x"], []),)


def test_a_parent_change_shows_on_every_child_it_reaches_naming_the_parent():
    before = [
        spec("writer", "llama3.1:8b", system="Write stories.", parameters={"temperature": 1.1}),
        spec("poet", "writer", parameters={"num_predict": 300}),
        spec("haiku", "poet"),
        spec("critic", "writer", system="Criticise."),
    ]
    after = [
        spec(
            "writer", "llama3.1:8b", system="Write short stories.", parameters={"temperature": 1.0}
        ),
        spec("poet", "writer", parameters={"num_predict": 300}),
        spec("haiku", "poet"),
        spec("critic", "writer", system="Criticise."),
    ]
    diff = compare(side("a", *before), side("b", *after))
    assert only(diff, "writer").fields == (
        FieldDiff("system", "Write stories.", "Write short stories."),
        FieldDiff("parameters.temperature", 1.1, 1.0),
    )
    inherited = (
        FieldDiff("system", "Write stories.", "Write short stories.", via="writer"),
        FieldDiff("parameters.temperature", 1.1, 1.0, via="writer"),
    )
    assert only(diff, "poet").fields == inherited
    assert only(diff, "haiku").fields == inherited
    assert only(diff, "poet").inherited_only
    # critic sets its own system prompt: only the temperature reaches it
    assert only(diff, "critic").fields == (
        FieldDiff("parameters.temperature", 1.1, 1.0, via="writer"),
    )
    assert [m.id for m in diff.models] == ["writer", "critic", "haiku", "poet"]
    assert diff.counts()["inherited"] == 3


def test_an_own_change_is_not_repeated_as_inherited():
    before = [spec("writer", system="A."), spec("poet", "writer")]
    after = [spec("writer", system="B."), spec("poet", "writer", system="C.")]
    assert only(compare(side("a", *before), side("b", *after)), "poet").fields == (
        FieldDiff("system", None, "C."),
    )


def test_the_ollama_base_reached_through_a_parent_and_a_license_that_adds_up():
    before = [spec("writer", "llama3.1:8b", license="MIT"), spec("poet", "writer", license="CC")]
    after = [spec("writer", "llama3.2:latest", license="BSD"), spec("poet", "writer", license="CC")]
    assert only(compare(side("a", *before), side("b", *after)), "poet").fields == (
        FieldDiff("base", "llama3.1:8b", "llama3.2:latest", via="writer"),
        FieldDiff("license", ["MIT", "CC"], ["BSD", "CC"], via="writer"),
    )


def test_a_new_base_brings_the_values_of_the_new_parent():
    before = [spec("a", system="From a."), spec("b", system="From b."), spec("child", "a")]
    after = [spec("a", system="From a."), spec("b", system="From b."), spec("child", "b")]
    assert only(compare(side("x", *before), side("y", *after)), "child").fields == (
        FieldDiff("base", "a", "b"),
        FieldDiff("system", "From a.", "From b.", via="b"),
    )


def test_renames_come_from_the_trailers_chained_and_undone():
    before = side("a", spec("faq", system="x"), spec("keep", system="y"))
    after = side("b", spec("support", system="x changed"), spec("keep", system="y"))
    commits = [  # newest first
        Commit("3", "rename", ("support",), "help"),
        Commit("2", "rename", ("help",), "faq"),
        Commit("1", "rename", ("keep",), "keep2"),
        Commit("0", "rename", ("keep2",), "keep"),
    ]
    diff = compare(before, after, commits)
    model = only(diff, "support")
    assert (model.status, model.source, model.detected) == ("renamed", "faq", "commit")
    assert model.fields == (FieldDiff("system", "x", "x changed"),)
    assert [c.sha for c in model.commits] == ["3", "2"]
    assert [m.id for m in diff.models] == ["support"]  # keep went away and came back


def test_a_rename_by_hand_is_found_by_content_with_a_small_edit():
    fields = {"name": "Notes", "system": "Take notes.", "tags": ["n"], "hidden": True}
    before = side("a", spec("notes", "mistral:latest", **fields), spec("other", "mistral:latest"))
    after = side(
        "b",
        spec("scribe", "mistral:latest", **{**fields, "name": "Scribe"}),
        spec("fresh", "mistral:latest", system="Something else entirely.", tags=["z"]),
    )
    diff = compare(before, after)
    model = only(diff, "scribe")
    assert (model.status, model.source, model.detected) == ("renamed", "notes", "content")
    assert model.fields == (FieldDiff("name", "Notes", "Scribe"),)
    assert only(diff, "fresh").status == "added"
    assert only(diff, "other").status == "removed"


def test_two_different_models_on_one_base_are_not_a_rename():
    before = side("a", spec("old", "mistral:latest", system="One.", tags=["a"], name="Old"))
    after = side("b", spec("new", "mistral:latest", system="Two.", tags=["b"], name="New"))
    assert sorted(m.status for m in compare(before, after).models) == ["added", "removed"]


def test_clones_from_the_trailer_and_by_content():
    base_models = [spec("coder", name="Coder", system="Code."), spec("poet", system="Poems.")]
    before = side("a", *base_models)
    after = side(
        "b",
        *base_models,
        spec("coder-2", name="Coder 2", system="Code."),
        spec("poet-copy", system="Poems."),
    )
    diff = compare(before, after, [Commit("9", "clone", ("coder-2",), "coder")])
    coder = only(diff, "coder-2")
    assert (coder.status, coder.source, coder.detected) == ("cloned", "coder", "commit")
    assert coder.fields == (FieldDiff("name", "Coder", "Coder 2"),)
    poet = only(diff, "poet-copy")
    assert (poet.status, poet.source, poet.detected) == ("cloned", "poet", "content")
    assert poet.fields == ()


def test_added_and_removed_models():
    before = side("a", spec("gone", name="Gone"))
    after = side("b", spec("new", "mistral:latest", name="New", system="Hi."))
    diff = compare(before, after)
    new, gone = diff.models
    assert (new.id, new.status, new.base) == ("new", "added", "mistral:latest")
    assert new.fields == (
        FieldDiff("name", None, "New"),
        FieldDiff("base", None, "mistral:latest"),
        FieldDiff("system", None, "Hi."),
    )
    assert (gone.id, gone.status, gone.name, gone.fields) == ("gone", "removed", "Gone", ())
    assert diff.unchanged == 0


def test_labels_say_what_a_change_means_in_open_webui():
    before = spec("m", access={"public": True, "read": {"users": ["bob"]}})
    after = spec(
        "m",
        hidden=True,
        active=False,
        access={"read": {"groups": ["g"]}, "write": {"users": ["x"]}},
    )
    model = only(compare(side("a", before), side("b", after)), "m")
    assert model.labels == (
        "hidden",
        "deactivated",
        "shared with group g, user x (write)",
        "no longer shared with everyone, user bob",
    )
    back = only(compare(side("a", after), side("b", before)), "m")
    assert back.labels[:2] == ("unhidden", "activated")


def test_a_rollback_commit_labels_the_model():
    before, after = side("a", spec("t", system="new")), side("b", spec("t", system="old"))
    model = only(compare(before, after, [Commit("5", "rollback", ("t",))]), "t")
    assert model.labels == ("rolled back",)


def test_avatars_are_compared_by_their_bytes_and_references():
    old = spec("m", avatar="avatars/m.png")
    before = side("a", old, files={"avatars/m.png": b"red"})
    after = side("b", old, files={"avatars/m.png": b"blue"})
    model = only(compare(before, after), "m")
    assert model.avatar == AvatarDiff(
        Image("avatars/m.png", b"red"), Image("avatars/m.png", b"blue")
    )
    assert model.fields == ()
    url = spec("m", avatar="https://example.com/m.png")
    moved = only(compare(before, side("b", url)), "m")
    assert moved.avatar == AvatarDiff(
        Image("avatars/m.png", b"red"), Image("https://example.com/m.png", None)
    )
    assert compare(before, side("c", old, files={"avatars/m.png": b"red"})).empty


def test_a_model_whose_file_cannot_be_read_is_neither_removed_nor_added():
    faq, other = spec("faq"), spec("other")
    broken_head = Side("b", {"other": other}, lambda p: None, frozenset({"faq"}))
    assert compare(side("a", faq, other), broken_head).empty
    broken_base = Side("a", {"other": other}, lambda p: None, frozenset({"faq"}))
    assert compare(broken_base, side("b", faq, other)).empty
    assert [m.status for m in compare(side("a", faq, other), side("b", other)).models] == [
        "removed"
    ]
