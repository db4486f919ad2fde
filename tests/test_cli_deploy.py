"""What a reconcile deploys: HEAD unless asked otherwise (the work tree with --work-tree, any
revision with --rev), what it owns (the deployed history and the record, never other branches
or stashes), and what it says about a shallow clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from modelops.reconcile.ownership import owner
from modelops.spec.names import parse_ollama_name
from tests.helpers import RegistryFixture, git, run
from tests.ollama_server import OllamaServer


@pytest.fixture
def applied(reg: RegistryFixture, ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch):
    reg.add("faq", base="mistral", system="Committed.")
    reg.add("helper", base="mistral")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    result = run("apply")
    assert result.code == 0, result.err
    ollama_server.clear_log()
    return reg, ollama_server


def test_apply_deploys_what_is_committed_and_says_what_it_leaves(applied):
    reg, server = applied
    reg.write("faq", reg.model_text("faq", base="mistral", system="Saved, not committed."))
    result = run("apply")
    assert result.code == 0, result.err
    assert result.out.endswith("Nothing to do: every model is in sync.\n")
    assert result.err == (
        "note: uncommitted changes are not deployed: models/faq.yaml (commit them, or pass "
        "--work-tree to deploy the files as saved)\n"
    )
    assert server.model("faq").system == "Committed."
    result = run("apply", "--work-tree")
    assert result.code == 0, result.err
    assert result.err.startswith(
        "warning: deploying uncommitted changes of the work tree: models/faq.yaml\n"
    )
    assert server.model("faq").system == "Saved, not committed."


def test_rev_deploys_any_revision_and_not_together_with_work_tree(applied):
    reg, server = applied
    first = reg.head()
    assert run("set", "faq", "system=Second.").code == 0
    assert run("apply").code == 0
    assert server.model("faq").system == "Second."
    assert run("apply", "--rev", first[:10]).code == 0
    assert server.model("faq").system == "Committed."
    status = run("status")
    assert f"last applied {first[:10]} at " in status.out
    both = run("apply", "--rev", "HEAD", "--work-tree")
    assert (both.code, both.err) == (64, "error: give --rev or --work-tree, not both\n")


def test_ownership_never_comes_from_other_branches_or_stashes(applied):
    reg, server = applied
    reg.git("checkout", "-q", "-b", "experiment")
    reg.add("ghost", base="mistral")
    reg.git("checkout", "-q", "-")
    reg.write("stashed", reg.model_text("stashed", base="mistral"))
    reg.git("add", "models/stashed.yaml")
    reg.git("stash", "-q")
    server.add_local("ghost", "mistral")  # made by hand; only their names appear elsewhere
    server.add_local("stashed", "mistral")
    assert run("delete", "helper").code == 0
    result = run("apply", "--prune")
    assert result.code == 0, result.err
    names = set(server.local_names())
    assert "helper:latest" not in names  # in the deployed history: modelops's to delete
    assert {"ghost:latest", "stashed:latest"} <= names


def test_a_model_the_record_says_modelops_made_is_owned():
    made = {parse_ollama_name("gone").key}
    owned = owner(None, ids_ever=[], made=made)
    assert owned("gone:latest")
    assert not owned("other:latest")
    assert owner(None, ids_ever=["other"])("other:latest")


def test_a_shallow_clone_says_what_it_cannot_know(applied, tmp_path: Path):
    reg, server = applied
    assert run("delete", "helper").code == 0
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{reg.root}", str(clone)], check=True
    )
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    result = run("plan", "--prune", "--registry", str(clone))
    assert result.code == 0, result.err
    assert (
        "warning: this is a shallow clone: models deleted before its oldest commit are owned "
        "only if an apply from here recorded them, so a prune may leave some (run 'git fetch "
        "--unshallow' to read the whole history)\n"
    ) in result.err
    assert "helper" not in result.out  # deleted before the clone's history: never guessed at
