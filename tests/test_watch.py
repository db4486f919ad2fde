"""The watcher end to end, in this process, against the Ollama test server: a save is
reconciled, bursts are acted on once, a broken file keeps the last good state and deletes
nothing, hand edits are committed, and a DNS name stands for every server it resolves to."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from modelops.watch.daemon import Options
from tests.helpers import RegistryFixture, png
from tests.ollama_server import OllamaServer
from tests.watch_helpers import watching


@pytest.fixture
def deployed(reg: RegistryFixture, ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch):
    """Three models (one based on another) in a registry that targets the test server."""
    reg.add("faq", base="mistral", system="Answer briefly.")
    reg.add("writer", base="llama3.1:8b", parameters={"temperature": 1.1})
    reg.add("poet", base="writer", system="Write poems.")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    return reg, ollama_server


def options(**changes: Any) -> Options:
    """The watcher's options for a test: no periodic resync unless asked, OLLAMA_HOST read."""
    base = Options(interval=3600, env_host=os.environ.get("OLLAMA_HOST"))
    return dataclasses.replace(base, **changes)


def system_of(server: OllamaServer, name: str) -> str | None:
    model = server.model(name)
    return None if model is None else model.system


def test_the_start_deploys_every_model(deployed):
    reg, server = deployed
    with watching(reg.root, options()) as watch:
        first = watch.reconciles("start")[0]
    assert first["event"] == "reconciled"
    assert (first["created"], first["pulled"], first["failed"]) == (3, 2, 0)
    assert system_of(server, "poet") == "Write poems."


def test_a_save_reconciles_that_model_and_the_models_built_on_it(deployed):
    reg, server = deployed
    with watching(reg.root, options()) as watch:
        server.clear_log()
        reg.write("writer", reg.model_text("writer", "llama3.1:8b", system="Write well."))
        done = watch.wait_event("reconciled", why="saved")
    assert done["models"] == ["poet", "writer"]  # poet is built on writer
    assert (done["updated"], done["in_sync"]) == (2, 0)
    created = sorted(r.body["model"] for r in server.calls("/api/create"))
    assert created == ["poet:latest", "writer:latest"]
    assert system_of(server, "writer") == "Write well."
    assert server.calls("/api/show", model="faq") == []  # faq was not looked at


def test_fifty_saves_in_a_burst_cause_at_most_three_reconciles(deployed):
    reg, server = deployed
    with watching(reg.root, options()) as watch:
        server.clear_log()
        for n in range(50):
            reg.write("faq", reg.model_text("faq", "mistral", system=f"Answer briefly ({n})."))
        watch.settled(
            lambda: system_of(server, "faq") == "Answer briefly (49).", "the last save deployed"
        )
        saved = watch.reconciles("saved")
    assert 1 <= len(saved) <= 3, saved
    assert 1 <= len(server.calls("/api/create")) <= 3


def test_a_git_checkout_of_another_branch_causes_one_reconcile(deployed):
    reg, server = deployed
    first = reg.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    reg.git("checkout", "-q", "-b", "other")
    reg.write("faq", reg.model_text("faq", "mistral", system="Other faq."))
    reg.write("writer", reg.model_text("writer", "llama3.1:8b", system="Other writer."))
    reg.write("helper", reg.model_text("helper", "mistral"))
    reg.commit("other branch")
    reg.git("checkout", "-q", first)
    with watching(reg.root, options(quiet=1.0)) as watch:  # a long quiet time: one batch
        reg.git("checkout", "-q", "other")
        done = watch.wait_event("reconciled", why="saved")
        assert done["models"] == ["faq", "helper", "poet", "writer"]
        assert (done["created"], done["updated"]) == (1, 3)  # helper; faq, writer and poet
        saved = watch.reconciles("saved")
    assert len(saved) == 1, saved
    assert system_of(server, "faq") == "Other faq."


def test_a_broken_file_is_reported_with_its_place_and_nothing_is_deleted(deployed):
    reg, server = deployed
    with watching(reg.root, options(prune=True, interval=0.2)) as watch:
        server.clear_log()
        reg.write("faq", "version: 1\nid: faq\nbase: mistral\nparameters: {temperature: 0.")
        invalid = watch.wait_event("invalid")
        # a full reconcile after the file broke: with prune on, faq still is not deleted
        resyncs = len(watch.reconciles("resync"))
        watch.wait_for(lambda: len(watch.reconciles("resync")) > resyncs + 1, "two resyncs")
        assert server.calls("/api/delete") == []
        assert system_of(server, "faq") == "Answer briefly."
        reg.write("faq", reg.model_text("faq", "mistral", system="Fixed."))
        watch.wait_event("fixed")
        watch.settled(lambda: system_of(server, "faq") == "Fixed.", "the fix deployed")
    assert invalid["message"] == (
        "models/faq.yaml:5:1: YAML syntax: did not find expected ',' or '}' (while parsing a "
        "flow mapping) (left out; the last good state stays live)"
    )
    assert invalid["path"] == "models/faq.yaml"
    assert server.calls("/api/delete") == []


def test_a_broken_file_that_is_removed_is_reported_gone(deployed):
    reg, _ = deployed
    with watching(reg.root, options()) as watch:
        reg.write("draft", "version: 1\nid: draft\nbase: [")
        watch.wait_event("invalid")
        (reg.root / "models" / "draft.yaml").unlink()
        gone = watch.wait_event("fixed")
    assert gone["message"] == "models/draft.yaml is gone"


def test_a_change_that_breaks_another_file_is_held_back(deployed):
    reg, server = deployed
    (reg.root / "avatars" / "faq.png").write_bytes(png())
    reg.write(
        "faq", reg.model_text("faq", "mistral", system="Answer briefly.", avatar="avatars/faq.png")
    )
    reg.commit("faq gets an avatar")
    with watching(reg.root, options(prune=True)) as watch:
        (reg.root / "avatars" / "faq.png").write_bytes(b"not an image")
        invalid = watch.wait_event("invalid")
        (reg.root / "avatars" / "faq.png").write_bytes(png(colour=(0, 0, 255)))
        fixed = watch.wait_event("fixed")
    assert invalid["path"] == "avatars/faq.png"
    assert invalid["message"].startswith("models/faq.yaml:")
    assert "avatar" in invalid["message"]
    assert fixed["message"] == "avatars/faq.png is valid again"
    assert server.calls("/api/delete") == []


def test_a_removed_file_is_looked_at_twice_then_its_model_is_pruned(deployed):
    reg, server = deployed
    with watching(reg.root, options(prune=True)) as watch:
        (reg.root / "models" / "faq.yaml").unlink()
        done = watch.wait_event("reconciled", why="saved")
    assert done["models"] == ["faq"]
    assert [r.body["model"] for r in server.calls("/api/delete")] == ["faq:latest"]
    assert server.model("faq") is None


def test_a_file_replaced_the_way_editors_save_it_deletes_nothing(deployed):
    reg, server = deployed
    path = reg.root / "models" / "faq.yaml"
    with watching(reg.root, options(prune=True)) as watch:
        backup = path.with_name("faq.yaml~")
        path.rename(backup)  # the file is gone for a moment, as with vim's default save
        path.write_text(reg.model_text("faq", "mistral", system="Saved again."))
        backup.unlink()
        watch.settled(lambda: system_of(server, "faq") == "Saved again.", "the save deployed")
    assert server.calls("/api/delete") == []


def test_a_model_file_replaced_by_a_link_is_kept_as_it_was(deployed, tmp_path):
    reg, server = deployed
    outside = tmp_path / "outside.yaml"
    outside.write_text(reg.model_text("faq", "mistral", system="From outside."))
    with watching(reg.root, options(prune=True)) as watch:
        path = reg.root / "models" / "faq.yaml"
        path.unlink()
        path.symlink_to(outside)
        invalid = watch.wait_event("invalid")
    assert invalid["message"] == (
        "models/faq.yaml: cannot be read (it is a symbolic link) (left out; the last good state "
        "stays live)"
    )
    assert server.calls("/api/delete") == []
    assert system_of(server, "faq") == "Answer briefly."


def test_a_model_broken_at_start_is_deployed_as_committed(deployed):
    reg, server = deployed
    reg.write("faq", "version: 1\nid: faq\nbase: [mistral")
    with watching(reg.root, options(prune=True)) as watch:
        assert watch.named("invalid")
    assert system_of(server, "faq") == "Answer briefly."  # the committed version
    assert server.calls("/api/delete") == []


def test_commit_turns_each_batch_of_valid_edits_into_one_commit(deployed):
    reg, _ = deployed
    before = len(reg.subjects())
    committing = options(commit=True, name="modelops watch on test", quiet=1.0)
    with watching(reg.root, committing) as watch:
        for n in range(20):
            reg.write("faq", reg.model_text("faq", "mistral", system=f"Edited {n}."))
        reg.write("helper", reg.model_text("helper", "mistral"))
        watch.wait_event("committed")
        reg.write("bad", "version: 1\nid: bad\nbase: mistral\ntemperature: 1\n")
        watch.wait_event("invalid")
    assert len(reg.subjects()) == before + 1
    assert reg.last_message() == (
        "Commit hand edits to faq, helper\n\nmodels/faq.yaml\nmodels/helper.yaml\n\n"
        "Modelops-Op: watch\nModelops-Model: faq\nModelops-Model: helper\n"
        "Modelops-Watcher: modelops watch on test"
    )
    assert reg.status() == "?? models/bad.yaml\n"  # the broken file is not committed
    assert "Edited 19." in reg.git("show", "HEAD:models/faq.yaml")


def test_a_dns_name_stands_for_every_server_it_resolves_to(reg, monkeypatch):
    servers = [OllamaServer().start() for _ in range(3)]
    try:
        answer = [("127.0.0.1", s.port) for s in servers]
        asked: list[tuple[str, int]] = []

        def resolve(name: str, port: int) -> list[tuple[str, int]]:
            asked.append((name, port))
            return list(answer)

        (reg.root / "modelops.yaml").write_text(
            "version: 1\ntargets:\n  gpus:\n    type: ollama\n"
            "    hosts: [dns://ollama-headless.ns.svc]\n"
        )
        reg.add("faq", base="mistral", system="One.")
        with watching(reg.root, options(), resolve=resolve) as watch:
            assert all(system_of(s, "faq") == "One." for s in servers)
            assert asked[0] == ("ollama-headless.ns.svc", 11434)
            dropped = servers.pop(1)
            answer.remove(("127.0.0.1", dropped.port))
            dropped.clear_log()
            reg.write("faq", reg.model_text("faq", "mistral", system="Two."))
            done = watch.wait_event("reconciled", why="saved")
        assert done["hosts"] == sorted(
            (s.url for s in servers), key=lambda u: int(u.split(":")[-1])
        )
        assert all(system_of(s, "faq") == "Two." for s in servers)
        assert dropped.requests == []
        assert system_of(dropped, "faq") == "One."
        servers.append(dropped)
    finally:
        for server in servers:
            server.stop()


def test_a_model_that_cannot_be_adopted_is_said_once_until_its_reason_changes(reg):
    import io

    from modelops.reconcile.adopt import Report
    from modelops.reconcile.adoption import Adoption
    from modelops.registry.store import Registry
    from modelops.watch.daemon import Watcher
    from modelops.watch.log import EventLog
    from modelops.watch.status import Status

    stream = io.StringIO()
    watcher = Watcher(Registry(reg.root, reg.root), options(), EventLog(stream), Status())

    def cycle(*adoptions: Adoption) -> list[str]:
        start = len(stream.getvalue().splitlines())
        watcher._adopter.say(Report("webui", "http://ui", "0.12.4", False, adoptions), "adopt")
        return [line.split(" ", 1)[1] for line in stream.getvalue().splitlines()[start:]]

    conflict = Adoption("faq", "conflict", "changed in git and in Open WebUI")
    assert cycle(conflict) == ["warning adopt-conflict: faq: changed in git and in Open WebUI"]
    assert cycle(conflict) == []  # the next interval: still the same conflict
    failed = Adoption("faq", "failed", "models/faq.yaml has uncommitted edits")
    assert cycle(failed) == ["error   adopt-failed: faq: models/faq.yaml has uncommitted edits"]
    assert cycle(Adoption("faq", "in sync")) == []  # resolved: said nothing, forgotten
    assert cycle(conflict) == ["warning adopt-conflict: faq: changed in git and in Open WebUI"]
    theirs = Adoption("poet", "skipped", "made by modelops for another registry", foreign=True)
    assert cycle(theirs) == []  # another registry's model is not this watcher's to speak of
