"""End to end through the CLI against the Ollama test server: plan, apply, drift, prune, faults."""

from __future__ import annotations

import json
import re
import textwrap
import threading

import ollama
import pytest

from tests.helpers import RegistryFixture, after_apply, run
from tests.ollama_server import OllamaServer


@pytest.fixture
def setup(reg: RegistryFixture, ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch):
    """Four models: two on mistral, one on llama3.1:8b, and one based on that one."""
    reg.add("faq", base="mistral", system="Answer briefly.", parameters={"temperature": 0.2})
    reg.add("helper", base="mistral")
    reg.add("writer", base="llama3.1:8b", parameters={"temperature": 1.1, "top_k": 60})
    reg.add("poet", base="writer", system="Write poems.", parameters={"num_predict": 300})
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    return reg, ollama_server


def test_apply_from_empty_pulls_each_base_once_before_any_create(setup):
    reg, server = setup
    result = run("apply")
    assert result.code == 0, result.err
    assert result.out.endswith("Apply: 2 pulled, 4 created, 0 updated, 0 deleted, 0 failed.\n")
    pulls = [r.body["model"] for r in server.calls("/api/pull")]
    assert sorted(pulls) == ["llama3.1:8b", "mistral:latest"]
    creates = server.calls("/api/create")
    assert [r.body["model"] for r in creates if r.body["model"] == "poet:latest"]
    assert max(r.time for r in server.calls("/api/pull")) < min(r.time for r in creates)
    order = [r.body["model"] for r in creates]
    assert order.index("writer:latest") < order.index("poet:latest")
    poet = next(r.body for r in creates if r.body["model"] == "poet:latest")
    assert poet == {
        "model": "poet:latest",
        "from": "writer:latest",
        "system": "Write poems.",
        "parameters": {"num_predict": 300},
        "stream": True,
    }
    assert set(server.local_names()) >= {
        "faq:latest",
        "helper:latest",
        "writer:latest",
        "poet:latest",
    }
    poet_live = server.model("poet")
    assert poet_live.parameters["temperature"] == 1.1  # inherited from writer
    assert reg.status() == ""  # the digest record lives in .git, not in the work tree
    assert (reg.root / ".git" / "modelops" / "ollama-state.json").exists()


def test_plan_right_after_apply_costs_one_tags_call_and_nothing_else(setup):
    reg, server = after_apply(setup)
    result = run("plan", "--detailed-exitcode")
    assert result.code == 0, result.err
    assert result.out == (
        f"Target local: {server.url}\n"
        "  = 4 models in sync\n"
        "Plan: 0 to pull, 0 to create, 0 to update, 0 to delete, 4 in sync.\n"
    )
    assert [r.path for r in server.requests] == ["/api/tags"]


def test_a_plan_with_changes_asks_the_version_and_refuses_an_old_server(setup):
    reg, server = after_apply(setup)
    assert run("set", "faq", "parameters.temperature=0.9").code == 0
    server.clear_log()
    result = run("plan")
    assert result.out.startswith(f"Target local: {server.url} (Ollama {server.version})\n")
    paths = [r.path for r in server.requests]
    assert (paths[0], paths[-1], paths.count("/api/version")) == ("/api/tags", "/api/version", 1)
    server.version = "0.5.4"
    refused = run("plan")
    assert refused.code == 1
    assert "is version 0.5.4; modelops needs 0.5.5 or newer" in refused.out + refused.err


def test_a_parameter_newer_than_the_server_is_warned_about_in_a_plan_with_nothing_to_do(setup):
    reg, server = setup
    assert run("set", "faq", "parameters.draft_num_predict=4").code == 0
    assert run("apply").code == 0
    server.clear_log()
    result = run("plan", "--detailed-exitcode")
    assert result.code == 0, result.out
    assert "parameters.draft_num_predict needs Ollama 0.30.0 or newer" in result.out + result.err
    assert [r.path for r in server.requests] == ["/api/tags", "/api/version"]


def test_without_the_record_a_plan_inspects_and_finds_everything_in_sync(setup):
    reg, server = after_apply(setup)
    (reg.root / ".git" / "modelops" / "ollama-state.json").unlink()
    result = run("plan", "--detailed-exitcode")
    assert result.code == 0, result.out
    assert "4 in sync" in result.out
    assert len(server.calls("/api/show")) == 6  # four models and their two Ollama bases


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ["set", "faq", "parameters.temperature=0.9"],
            ["  ~ update  faq:latest  changed in the registry", "      parameters.temperature: 0.2 -> 0.9"],
        ),
        (
            ["set", "faq", "system=Answer in detail."],
            ["  ~ update  faq:latest  changed in the registry", '      system: "Answer briefly." -> "Answer in detail."'],
        ),
        (
            ["set", "helper", "base=llama3.2"],
            [
                "  + pull    llama3.2:latest  base model not on the host",
                "  ~ update  helper:latest    changed in the registry",
                '      base: "mistral:latest" -> "llama3.2:latest"',
            ],
        ),
        (
            ["set", "faq", "--unset", "parameters.temperature"],
            ["  ~ update  faq:latest  changed in the registry", "      parameters.temperature: 0.2 -> (unset)"],
        ),
    ],
)  # fmt: skip
def test_a_change_shows_as_exactly_that_then_apply_fixes_it(setup, change, expected):
    reg, server = after_apply(setup)
    assert run(*change).code == 0
    plan = run("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.err
    lines = plan.out.splitlines()
    assert lines[1:-2] == expected
    assert lines[-2] == "  = 3 models in sync"
    applied = run("apply")
    assert applied.code == 0, applied.err
    assert run("plan", "--detailed-exitcode").code == 0


def test_a_parent_change_recreates_its_children(setup):
    reg, server = after_apply(setup)
    assert run("set", "writer", "parameters.temperature=0.7").code == 0
    lines = run("plan").out.splitlines()
    assert lines[1:4] == [
        "  ~ update  writer:latest  changed in the registry",
        "      parameters.temperature: 1.1 -> 0.7",
        "  ~ update  poet:latest    its base writer changes",
    ]
    assert run("apply").code == 0
    assert server.model("poet").parameters["temperature"] == 0.7
    assert run("plan", "--detailed-exitcode").code == 0


def test_a_model_changed_behind_our_back_is_drift(setup):
    reg, server = after_apply(setup)
    client = ollama.Client(host=server.url)
    client.create(model="faq", from_="mistral", system="Hacked.", parameters={"temperature": 0.2})
    result = run("plan", "--detailed-exitcode")
    assert result.code == 2
    assert result.out.splitlines()[1:3] == [
        "  ~ update  faq:latest  changed on the host (drift)",
        '      system: "Hacked." -> "Answer briefly."',
    ]
    server.modify_local("writer", parameters={"top_k": 10, "seed": 5})
    lines = run("plan").out.splitlines()
    assert "      parameters.top_k: 10 -> 60" in lines
    assert "      parameters.seed: 5 -> (unset)" in lines
    assert run("apply").code == 0
    assert run("plan", "--detailed-exitcode").code == 0


def test_prune_deletes_only_what_modelops_owns(setup):
    reg, server = after_apply(setup)
    server.add_local("handmade", "mistral", system="Answer briefly.")  # same shape, not ours
    server.add_local("notes:v2", "mistral")
    assert run("delete", "helper").code == 0
    held = run("plan", "--detailed-exitcode")
    assert held.code == 0  # nothing will happen without --prune
    assert "  ! delete  helper:latest  no longer in the registry (prune is off)" in held.out
    assert held.out.endswith(
        "Plan: 0 to pull, 0 to create, 0 to update, 0 to delete, 3 in sync; "
        "1 delete(s) held back (apply with --prune to delete).\n"
    )
    pruned = run("plan", "--prune", "--detailed-exitcode")
    assert pruned.code == 2
    assert "  - delete  helper:latest  no longer in the registry" in pruned.out
    assert "handmade" not in pruned.out and "notes" not in pruned.out
    assert run("apply").code == 0
    assert "helper:latest" in server.local_names()
    result = run("apply", "--prune")
    assert result.code == 0, result.err
    names = server.local_names()
    assert "helper:latest" not in names
    assert {"handmade:latest", "notes:v2", "mistral:latest"} <= set(names)


def test_prune_in_the_config_and_a_namespace_owns_everything_in_it(reg, monkeypatch):
    reg.add("faq", base="mistral")
    with OllamaServer() as one, OllamaServer() as two:
        (reg.root / "modelops.yaml").write_text(
            textwrap.dedent(
                f"""\
                version: 1
                targets:
                  gpus:
                    type: ollama
                    hosts: [{one.url}, {two.url}]
                    namespace: team
                    prune: true
                """
            )
        )
        reg.commit("two hosts")
        for server in (one, two):
            server.add_local("team/stale", "mistral")
            server.add_local("other/keep", "mistral")
        result = run("apply", "gpus")
        assert result.code == 0, result.err
        for server in (one, two):
            names = set(server.local_names())
            assert "team/faq:latest" in names
            assert "team/stale:latest" not in names
            assert "other/keep:latest" in names
        assert f"{one.url}: created team/faq:latest" in result.err
        assert f"{two.url}: created team/faq:latest" in result.err


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("refused", "error: cannot reach Ollama at {url} (connection refused); start it, or point modelops at a server with OLLAMA_HOST=host:port or a target in modelops.yaml"),
        ("create 500", "{url}: update faq:latest failed: {url}: could not create faq:latest: disk full"),
        ("pull error mid-stream", "{url}: pull mistral:latest failed: {url}: could not pull mistral:latest: registry went away"),
        ("slow", "{url}: could not list models: no answer within 0.5 s"),
        ("cut mid-pull", "{url}: could not pull mistral:latest: the connection broke"),
    ],
)  # fmt: skip
def test_each_fault_is_a_clear_error_and_deletes_nothing(setup, fault, message):
    reg, server = setup
    reg.write("stale", reg.model_text("stale", base="mistral"))
    reg.commit("a model that will go")
    assert run("apply").code == 0
    assert run("delete", "stale").code == 0
    assert run("set", "faq", "parameters.temperature=0.5").code == 0
    config = reg.root / "modelops.yaml"
    config.write_text(
        "version: 1\ntargets:\n  local: {type: ollama, timeout: 0.5, retries: 2, prune: true}\n"
    )
    reg.commit("short timeout")
    server.remove_local("mistral")
    url = server.url
    if fault == "refused":
        server.refuse_connections()
    elif fault == "create 500":
        server.fail("/api/create", "disk full")
    elif fault == "pull error mid-stream":
        server.fail_mid_stream("/api/pull", "registry went away", after=2)
    elif fault == "slow":
        server.delay("/api/tags", 2.0)
    elif fault == "cut mid-pull":
        server.cut_connection("/api/pull", after=2)
    result = run("apply")
    assert result.code == 1
    assert message.format(url=url) in result.err + result.out
    assert "Traceback" not in result.err
    server.accept_connections() if fault == "refused" else server.clear_faults()
    assert "stale:latest" in server.local_names()  # nothing deleted in a run with errors
    again = run("apply")
    assert again.code == 0, again.err
    assert "stale:latest" not in server.local_names()
    assert run("plan", "--detailed-exitcode").code == 0


def test_one_failure_does_not_stop_the_others_and_a_rerun_converges(setup):
    reg, server = setup
    server.fail("/api/create", "out of disk", model="writer")
    result = run("apply")
    assert result.code == 1
    url = server.url
    assert result.out.splitlines()[-3:] == [
        f"{url}: create writer:latest failed: {url}: could not create writer:latest: out of disk",
        f"{url}: create poet:latest skipped: create of writer:latest failed",
        "Apply: 2 pulled, 2 created, 0 updated, 0 deleted, 1 failed, 1 skipped.",
    ]
    assert {"faq:latest", "helper:latest"} <= set(server.local_names())
    server.clear_faults()
    assert run("apply").code == 0
    assert run("plan", "--detailed-exitcode").code == 0


def test_a_transient_failure_is_retried(setup):
    reg, server = setup
    server.fail("/api/pull", "try again", times=1)
    result = run("apply")
    assert result.code == 0, result.err
    assert len(server.calls("/api/pull")) == 3  # two bases, one of them twice


def test_servers_older_than_0_5_5_are_refused(setup):
    reg, server = setup
    server.version = "0.5.4"
    result = run("plan")
    assert result.code == 1
    assert result.err == (
        f"error: Ollama at {server.url} is version 0.5.4; modelops needs 0.5.5 or newer "
        "(creating models from JSON arrived in 0.5.5): upgrade Ollama\n"
    )
    assert result.out == ""


def test_hf_co_bases_and_a_wrong_quant(reg, ollama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    reg.add("tiny", base="hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
    assert run("apply").code == 0
    assert "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M" in ollama_server.local_names()
    assert run("set", "tiny", "base=hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q9_X").code == 0
    result = run("apply")
    assert result.code == 1
    assert "The specified tag is not available in the repository" in result.out
    assert len(ollama_server.calls("/api/pull")) == 2  # a permanent error is not retried


def test_json_and_markdown_output(setup):
    reg, server = setup
    data = json.loads(run("plan", "-o", "json").out)
    assert data["pending"] is True
    assert data["counts"] == {
        "pull": 2,
        "create": 4,
        "update": 0,
        "delete": 0,
        "noop": 0,
        "held": 0,
    }
    assert [c["action"] for c in data["hosts"][0]["changes"]][:2] == ["pull", "pull"]
    applied = json.loads(run("apply", "-o", "json").out)
    assert {c["result"] for c in applied["hosts"][0]["changes"]} == {"ok"}
    assert run("set", "faq", "parameters.temperature=0.3").code == 0
    markdown = run("plan", "-o", "markdown").out
    assert markdown.startswith("### modelops plan for `local`\n")
    assert "| `parameters.temperature` | `0.2` | `0.3` |" in markdown


def test_status_reports_each_model_on_each_host(setup):
    reg, server = after_apply(setup)
    server.remove_local("helper")
    server.modify_local("faq", system="Other.")
    result = run("status")
    assert result.code == 0
    assert result.out.splitlines()[1:5] == [
        f"faq     {server.url}  drifted  changed on the host (drift): system",
        f"helper  {server.url}  missing  not on the host",
        f"writer  {server.url}  in sync",
        f"poet    {server.url}  in sync",
    ]
    assert re.fullmatch(
        rf"{server.url}: last applied {reg.head()[:10]} at \d{{4}}-\d\d-\d\d \d\d:\d\d UTC "
        r"\(the commit planned now\)",
        result.out.splitlines()[5],
    )


def test_pull_command(reg, ollama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    result = run("pull", "llama3.2", "gemma2:2b")
    assert result.code == 0, result.err
    assert "llama3.2: pulling manifest" in result.err
    assert {"llama3.2:latest", "gemma2:2b"} <= set(ollama_server.local_names())
    assert run("pull", "Not A Name").code == 64
    missing = run("pull", "no-such-model")
    assert missing.code == 1
    assert "pull model manifest: file does not exist" in missing.err


def test_an_unknown_target_and_an_open_webui_target(setup):
    reg, server = setup
    nowhere = run("plan", "nowhere")
    assert (nowhere.code, nowhere.err) == (
        1,
        "error: no target 'nowhere' in modelops.yaml (targets: local)\n",
    )
    (reg.root / "modelops.yaml").write_text(
        "version: 1\ntargets:\n  webui: {type: openwebui, url: 'http://127.0.0.1:9'}\n"
    )
    reg.commit("an Open WebUI target")
    result = run("plan", "webui")
    assert (result.code, result.err) == (
        1,
        "error: target 'webui' needs an Open WebUI API key in OPENWEBUI_API_KEY (an admin's "
        "key, made under Settings > Account > API keys)\n",
    )


@pytest.mark.parametrize(("parallelism", "together"), [(4, 4), (2, 2), (1, 1)])
def test_independent_models_are_created_at_the_same_time(
    reg, ollama_server, monkeypatch, parallelism, together
):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    for n in range(4):
        reg.add(f"m{n}", base="llama3.2")
    ollama_server.add_local("llama3.2")
    gate = ollama_server.hold("/api/create")  # no create finishes until `together` arrived
    arrived: list[bool] = []

    def release() -> None:
        try:
            ollama_server.wait_for("/api/create", together)
            arrived.append(True)
        except AssertionError:  # they never were in flight together
            arrived.append(False)
        finally:
            gate.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    result = run("apply", "--parallelism", str(parallelism))
    releaser.join()
    assert result.code == 0, result.err
    assert arrived == [True]  # `together` creates were in flight at once
    assert len(ollama_server.calls("/api/create")) == 4


def test_rich_progress_draws_a_bar_per_layer():
    import io

    from modelops.cli.progress import RichReporter
    from modelops.targets.base import Change, Outcome, Progress

    out = io.StringIO()
    with RichReporter(out, show_host=False) as reporter:
        reporter.progress("h", "mistral:latest", Progress("pulling manifest"))
        for done in (0, 50, 100):
            reporter.progress(
                "h", "mistral:latest", Progress("pulling", "sha256:" + "ab" * 32, 100, done)
            )
        reporter.finished(Outcome(Change("pull", "h", "mistral:latest", None, ""), ok=True))
    text = out.getvalue()
    assert "mistral:latest abababababab" in text
    assert "pulled mistral:latest" in text


def test_a_parameter_newer_than_the_server_is_a_warning(reg, ollama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    reg.add("drafty", base="llama3.2", parameters={"draft_num_predict": 4})
    result = run("plan")
    assert result.code == 0
    assert result.err == (
        f"warning: {ollama_server.url}: drafty: parameters.draft_num_predict needs Ollama 0.30.0 "
        f"or newer; this server (0.12.6) will ignore it\n"
    )
    ollama_server.version = "0.30.1"
    assert run("plan").err == ""


def test_a_model_named_like_a_base_is_refused_without_a_namespace(reg, ollama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    reg.add("mistral", base="llama3.2")
    reg.add("faq", base="mistral:latest")
    result = run("apply")
    assert result.code == 1
    assert result.err == (
        "error: model 'mistral' would be created as mistral:latest, which replaces the Ollama "
        "model that 'faq' is based on (rename it, or give the target a namespace)\n"
    )
    assert ollama_server.calls("/api/create") == []
