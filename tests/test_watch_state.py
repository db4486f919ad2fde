"""Merging a batch of saved files into the last good state: only what changed is taken, a file
that cannot be read or validated keeps its last good version, a batch that breaks files it did
not touch is held back whole, and the models affected are named."""

from __future__ import annotations

from modelops.spec.config import DEFAULT_CONFIG
from modelops.watch.state import Good, Unreadable, merge, watched
from tests.helpers import png

FAQ = b"version: 1\nid: faq\nbase: mistral\nsystem: One.\n"
WRITER = b"version: 1\nid: writer\nbase: llama3.1:8b\n"
POET = b"version: 1\nid: poet\nbase: writer\nsystem: Poems.\n"


def good() -> Good:
    files = {
        "modelops.yaml": DEFAULT_CONFIG.encode(),
        "models/faq.yaml": FAQ,
        "models/writer.yaml": WRITER,
        "models/poet.yaml": POET,
    }
    state = Good.of(files, "registry")
    assert state.valid
    return state


def test_files_equal_to_the_last_good_state_change_nothing():
    state = good()
    merged = merge(state, {"models/faq.yaml": FAQ, "models/poet.yaml": POET})
    assert merged.good is state
    assert (merged.accepted, merged.models, merged.rejected) == ({}, frozenset(), {})


def test_a_changed_model_is_taken_with_the_models_built_on_it():
    changed = WRITER + b"system: Write.\n"
    merged = merge(good(), {"models/writer.yaml": changed})
    assert merged.accepted == {"models/writer.yaml": changed}
    assert merged.models == {"writer", "poet"}
    assert merged.good.snapshot.models["writer"].spec.system == "Write."
    assert merged.good.files.read("models/writer.yaml") == changed


def test_a_broken_file_keeps_its_last_good_version_and_is_reported_where_it_breaks():
    half = b"version: 1\nid: faq\nbase: mistral\nparameters: {temperature: 1.5, top_p"
    merged = merge(
        good(), {"models/faq.yaml": half, "models/writer.yaml": WRITER + b"system: Write.\n"}
    )
    assert [str(p) for p in merged.rejected["models/faq.yaml"]] == [
        "registry/models/faq.yaml:5:1: YAML syntax: did not find expected ',' or '}' "
        "(while parsing a flow mapping)"
    ]
    assert merged.good.snapshot.models["faq"].spec.system == "One."
    assert set(merged.accepted) == {"models/writer.yaml"}  # the other file of the batch is taken


def test_an_unreadable_file_keeps_its_last_good_version():
    merged = merge(good(), {"models/faq.yaml": Unreadable("Permission denied")})
    assert [str(p) for p in merged.rejected["models/faq.yaml"]] == [
        "registry/models/faq.yaml: cannot be read (Permission denied)"
    ]
    assert "faq" in merged.good.snapshot.models


def test_a_removed_file_removes_its_model():
    merged = merge(good(), {"models/faq.yaml": None})
    assert merged.accepted == {"models/faq.yaml": None}
    assert merged.models == {"faq"}
    assert "faq" not in merged.good.snapshot.models
    assert merged.good.files.read("models/faq.yaml") is None


def test_a_removed_base_re_plans_the_models_that_were_built_on_it():
    merged = merge(good(), {"models/writer.yaml": None})
    assert merged.models == {"writer", "poet"}


def test_a_batch_that_breaks_a_file_it_did_not_touch_is_held_back_whole():
    state = merge(
        good(), {"avatars/faq.png": png(), "models/faq.yaml": FAQ + b"avatar: avatars/faq.png\n"}
    ).good
    assert state.valid
    merged = merge(
        state,
        {"avatars/faq.png": b"not an image", "models/writer.yaml": WRITER + b"system: Write.\n"},
    )
    assert set(merged.rejected) == {"avatars/faq.png", "models/writer.yaml"}
    [problem] = merged.rejected["avatars/faq.png"]
    assert problem.path == "registry/models/faq.yaml"
    assert problem.key == "avatar"
    assert merged.accepted == {}
    assert merged.good is state


def test_a_broken_modelops_yaml_keeps_the_last_good_one_and_a_valid_one_affects_everything():
    state = good()
    broken = merge(state, {"modelops.yaml": b"version: 2\n"})
    assert set(broken.rejected) == {"modelops.yaml"}
    assert broken.good is state
    changed = DEFAULT_CONFIG.encode() + b"# a comment\n"
    assert merge(state, {"modelops.yaml": changed}).everything


def test_without_any_good_state_nothing_is_taken_until_modelops_yaml_is_valid():
    empty = Good.of({}, ".")
    merged = merge(empty, {"modelops.yaml": b"version: [", "models/faq.yaml": FAQ})
    assert set(merged.rejected) == {"modelops.yaml", "models/faq.yaml"}
    assert not merged.good.valid


def test_a_yml_file_is_reported_and_not_deployed():
    merged = merge(good(), {"models/helper.yml": b"version: 1\nid: helper\nbase: mistral\n"})
    assert [p.message for p in merged.rejected["models/helper.yml"]] == [
        "model files end in .yaml (rename it)"
    ]
    assert "helper" not in merged.good.snapshot.models


def test_which_paths_are_watched():
    assert [
        p
        for p in (
            "modelops.yaml",
            "models/faq.yaml",
            "models/faq.yml",
            "avatars/faq.png",
            "models/.faq.yaml.x1.tmp",
            "models/.faq.yaml.swp",
            "conversations/a.yaml",
            "models/sub/x.yaml",
            "README.md",
            "models/notes.txt",
        )
        if watched(p)
    ] == ["modelops.yaml", "models/faq.yaml", "models/faq.yml", "avatars/faq.png"]
