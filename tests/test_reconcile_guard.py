"""Narrowing a plan to some models, and the limit on destructive changes; on values."""

from __future__ import annotations

import pytest

from modelops.errors import ModelopsError
from modelops.reconcile.guard import check_deletes, destructive, select
from modelops.reconcile.plan import HostPlan, Plan
from modelops.targets.base import Change, FieldChange, change_key

H = "http://h:11434"


def plan(*changes: Change) -> Plan:
    return Plan("local", (HostPlan(H, "0.12.6", changes),), prune=True)


PULL = Change("pull", H, "mistral:latest", None, "base model not on the host")
FAQ = Change("create", H, "faq:latest", "faq", "not on the host", needs=(PULL.key,))
WRITER = Change("update", H, "writer:latest", "writer", "changed in the registry")
POET = Change(
    "update",
    H,
    "poet:latest",
    "poet",
    "its base writer changes",
    needs=(change_key("update", "writer:latest"),),
)
HAIKU = Change("update", H, "haiku:latest", "haiku", "its base poet changes", needs=(POET.key,))
OLD = Change("delete", H, "old:latest", None, "no longer in the registry")
OTHER = Change("delete", H, "other:latest", None, "no longer in the registry")


def names(p: Plan) -> list[str]:
    return [c.name for c in p.changes]


def test_select_keeps_a_model_what_waits_on_it_and_the_pulls_it_needs():
    whole = plan(PULL, FAQ, WRITER, POET, HAIKU, OLD, OTHER)
    assert names(select(whole, {"writer"})) == ["writer:latest", "poet:latest", "haiku:latest"]
    assert names(select(whole, {"faq"})) == ["mistral:latest", "faq:latest"]
    assert names(select(whole, {"old"})) == ["old:latest"]
    assert names(select(whole, {"nothing"})) == []
    assert select(whole, {"faq", "writer", "poet", "haiku", "old", "other"}) == whole


def test_deletes_and_rebuilds_on_another_base_are_destructive():
    rebase = Change("update", H, "x:latest", "x", "changed", (FieldChange("base", "a", "b"),))
    held = Change("delete", H, "held:latest", None, "prune is off", enabled=False)
    p = plan(PULL, FAQ, WRITER, rebase, OLD, held)
    assert destructive(p) == [rebase, OLD]
    check_deletes(p, 2, force=False)
    with pytest.raises(
        ModelopsError,
        match=r"deletes or replaces 2 models \(old:latest, x:latest\), more than --max-deletes 1",
    ):
        check_deletes(p, 1, force=False)
    check_deletes(p, 1, force=True)


def test_one_model_deleted_on_many_hosts_counts_once():
    hosts = tuple(
        HostPlan(
            f"http://h{i}:11434",
            "0.12.6",
            (Change("delete", f"http://h{i}:11434", "old:latest", None, "gone"),),
        )
        for i in range(3)
    )
    check_deletes(Plan("gpus", hosts, prune=True), 1, force=False)
