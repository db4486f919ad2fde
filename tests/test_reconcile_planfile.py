"""Saved plans on values: written and read back unchanged, refused when damaged, and stale
when the registry or a host changed."""

from __future__ import annotations

import pytest

from modelops.errors import ModelopsError
from modelops.reconcile import planfile
from modelops.reconcile.plan import HostPlan, Plan
from modelops.reconcile.planfile import SavedPlan, Settings
from modelops.targets.base import Change, FieldChange

H = "http://h:11434"
PULL = Change("pull", H, "mistral:latest", None, "base model not on the host")
FAQ = Change(
    "update",
    H,
    "faq:latest",
    "faq",
    "changed in the registry",
    (FieldChange("parameters.temperature", 0.5, 0.2),),
    {"model": "faq:latest", "from": "mistral", "parameters": {"temperature": 0.2}},
    (PULL.key,),
)
PLAN = Plan("local", (HostPlan(H, "0.12.6", (PULL, FAQ), warnings=("w",)),), prune=False)


def saved() -> SavedPlan:
    observed = planfile.observed_state(PLAN, {H: {"registry.ollama.ai/library/faq:latest": "d1"}})
    return SavedPlan(
        PLAN,
        Settings("local", (H,), None, False, 30.0, 3),
        None,
        "c" * 40,
        {"faq": "hash-1"},
        observed,
    )


W = "http://webui:8080"
WEB = HostPlan(
    W,
    "0.12.4",
    (
        Change("noop", W, "faq", "faq", "in sync"),
        Change("update", W, "poet", "poet", "drift", request={"record": {}, "seen": [1, 2]}),
    ),
    product="Open WebUI",
    seen=(("faq", "v1@100"), ("made-in-ui", "v3@300"), ("poet", "v2@200")),
)


def test_an_open_webui_plan_reads_back_and_is_stale_once_a_model_was_saved_there():
    plan = Plan("combined", (PLAN.hosts[0], WEB), prune=False)
    settings = Settings(
        "combined", (H,), None, False, 30.0, 3, planfile.WebUISettings(W, "KEY", False, 20.0)
    )
    observed = planfile.observed_state(plan, {H: {}})
    assert observed[W] == {"faq": "v1@100", "poet": "v2@200"}  # what the plan is about
    original = SavedPlan(plan, settings, None, "c" * 40, {"faq": "h"}, observed)
    again = planfile.loads(planfile.dumps(original), "plan.json")
    assert again == original
    now = {H: {"registry.ollama.ai/library/mistral:latest": None}, W: dict(WEB.seen)}
    assert planfile.stale(again, {"faq": "h"}, "c" * 40, now) == []
    now[W] = {"faq": "v1@100", "poet": "v2@250"}
    assert planfile.stale(again, {"faq": "h"}, "c" * 40, now) == [
        f"{W}: poet was saved in Open WebUI since the plan"
    ]
    del now[W]  # unreachable: said by the caller, not as every model gone
    assert planfile.stale(again, {"faq": "h"}, "c" * 40, now) == []


def test_a_saved_plan_reads_back_unchanged():
    original = saved()
    assert original.observed == {H: {"faq:latest": "d1", "mistral:latest": None}}
    assert planfile.loads(planfile.dumps(original), "plan.json") == original


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "it is not a plan that 'modelops plan --out' wrote"),
        (
            '{"format": "modelops-plan", "version": 9}',
            "it is a version 9 plan; this modelops reads 1 and 2",
        ),
        ('{"format": "modelops-plan", "version": 1}', "it is damaged"),
        ("[1, 2]", "it is not a plan that 'modelops plan --out' wrote"),
    ],
)
def test_anything_else_is_refused_with_one_line(text, why):
    with pytest.raises(ModelopsError) as caught:
        planfile.loads(text, "plan.json")
    assert (
        caught.value.message == f"plan.json: cannot apply: {why} (make a new one with 'plan --out')"
    )


def test_stale_says_what_changed():
    plan = saved()
    now = {H: {"registry.ollama.ai/library/faq:latest": "d1"}}
    assert (
        planfile.stale(plan, {"faq": "hash-1"}, "d" * 40, now) == []
    )  # another commit, same models
    assert planfile.stale(plan, {"faq": "hash-2", "new": "x"}, "d" * 40, now) == [
        "the registry (the work tree) changed: faq changed, new added; planned at cccccccccc, "
        "now dddddddddd"
    ]
    moved = {
        H: {
            "registry.ollama.ai/library/faq:latest": "d2",
            "registry.ollama.ai/library/mistral:latest": "m",
        }
    }
    assert planfile.stale(plan, {"faq": "hash-1"}, None, moved) == [
        f"{H}: faq:latest changed (digest d1 -> d2)",
        f"{H}: mistral:latest appeared",
    ]
    assert planfile.stale(plan, {}, None, {H: {}}) == [
        "the registry (the work tree) changed: faq removed",
        f"{H}: faq:latest is gone",
    ]
