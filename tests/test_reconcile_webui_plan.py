"""The Open WebUI plan on its own: names resolved to ids, records compared by meaning, and only
what modelops made is changed. No server: records are written by hand as 0.12.4 stores them."""

from __future__ import annotations

from typing import Any

from modelops.reconcile.webui_plan import compare, desired_records, plan_webui, with_marker
from modelops.spec.checks import check_model
from modelops.spec.model import ModelSpec

URL = "http://webui"
IDS = {
    ("tool", "search"): {"t-1"},
    ("group", "sre"): {"g-1"},
    ("group", "twice"): {"g-2", "g-3"},
    ("collection", "Handbook"): {"k-1"},
}


def _lookup(kind: str, name: str) -> set[str]:
    return IDS.get((kind, name), set())


def _spec(**fields: Any) -> ModelSpec:
    spec, problems = check_model({"version": 1, "id": "faq", "base": "mistral", **fields})
    assert spec is not None, problems
    return spec


def test_names_resolve_to_this_servers_ids_and_every_failure_is_listed_once():
    spec = _spec(
        tools=["search"],
        knowledge=[{"name": "Handbook", "type": "collection", "id": "elsewhere-1"}],
        access={"read": {"groups": ["sre"], "users": []}},
    )
    desired, problems = desired_records({"faq": spec}, {}, {}, _lookup)
    assert problems == []
    meta = desired["faq"]["meta"]
    assert meta["toolIds"] == ["t-1"]
    assert meta["knowledge"][0]["id"] == "k-1"  # its id elsewhere is not this server's
    assert desired["faq"]["access_grants"] == [
        {"principal_type": "group", "principal_id": "g-1", "permission": "read"}
    ]
    other = _spec(id="faq", tools=["nope"], access={"read": {"groups": ["twice"], "users": []}})
    two = {"faq": other, "more": _spec(id="more", tools=["nope"])}
    _, problems = desired_records(two, {}, {}, _lookup)
    assert problems == [
        "tool 'nope' (named by faq, more) does not exist on this Open WebUI: create it there "
        "first, or name one that exists",
        "group 'twice' names 2 objects (g-2, g-3): name it by its id instead",
    ]


def _live(form: dict[str, Any], **meta: Any) -> dict[str, Any]:
    """A record as the server returns it: typed meta keys filled with null, ids and times."""
    record = with_marker(form, "reg", "c1")
    nulls = dict.fromkeys(("i18n", "voice", "voice_avatar", "background_image_url"))
    record["meta"] = {**nulls, **record["meta"], **meta}
    record["access_grants"] = [{**g, "id": "x", "created_at": 1} for g in form["access_grants"]]
    return {**record, "version_id": "v1", "updated_at": 5, "created_at": 5, "user_id": "u"}


def test_records_compare_by_meaning_not_by_the_servers_own_keys():
    desired, _ = desired_records({"faq": _spec(system="One.", hidden=False)}, {}, {}, _lookup)
    form = desired["faq"]
    assert compare(form, _live(form)) == []
    changed = _live(form)
    changed["params"] = {**changed["params"], "system": "Two.", "temperature": 0.9}
    changed["meta"]["hidden"] = True
    fields = {f.field: (f.before, f.after) for f in compare(form, changed)}
    assert fields == {
        "system": ("Two.", "One."),
        "parameters.temperature": (0.9, None),
        "hidden": (True, None),
    }


def test_only_marked_models_are_changed_and_deletes_wait_for_prune():
    desired, _ = desired_records({"faq": _spec(), "new": _spec(id="new")}, {}, {}, _lookup)
    ours = _live(desired["faq"])
    ours["params"] = {"system": "drifted"}
    theirs = {"id": "made-in-ui", "meta": {}, "params": {}, "access_grants": []}
    gone = _live({**desired["faq"], "id": "gone"})
    clash = {"id": "new", "meta": {}, "params": {}, "access_grants": []}  # same id, not ours
    planned = plan_webui(URL, desired, [ours, theirs, gone, clash], "reg", "c1", prune=False)
    actions = [(c.action, c.name, c.enabled) for c in planned.changes]
    assert actions == [("update", "faq", True), ("delete", "gone", False)]
    assert planned.changes[0].reason == "changed in Open WebUI (drift)"
    assert planned.unmanaged == ["made-in-ui"]
    assert planned.warnings[0].startswith(f"{URL}: new exists in Open WebUI but modelops did not")
    later = plan_webui(URL, desired, [ours], "reg", "c2", prune=True)
    assert later.changes[0].reason == "differs from the registry (last applied from c1)"
    assert later.changes[0].request and later.changes[0].request["seen"] == ["v1", 5]


def test_a_work_tree_apply_is_marked_and_a_later_commit_apply_clears_the_mark():
    desired, _ = desired_records({"faq": _spec()}, {}, {}, _lookup)
    made = plan_webui(URL, desired, [], "reg", "c1", prune=False, work_tree=True)
    record = made.changes[0].request["record"]  # type: ignore[index]
    assert record["meta"]["modelops"] == {
        "registry": "reg",
        "commit": "c1",
        "model": "faq",
        "work_tree": True,
    }
    live = _live(desired["faq"])
    live["meta"] = record["meta"]
    # the same content from the work tree again: nothing to do
    again = plan_webui(URL, desired, [live], "reg", "c1", prune=False, work_tree=True)
    assert [c.action for c in again.changes] == ["noop"]
    # the same content, now committed: only the mark is put right, so that adopt can trust it
    clean = plan_webui(URL, desired, [live], "reg", "c2", prune=False)
    (change,) = clean.changes
    assert (change.action, change.fields, change.reason) == (
        "update",
        (),
        "marks it applied from c2",
    )
    assert "work_tree" not in change.request["record"]["meta"]["modelops"]  # type: ignore[index]
    # content that differs too is said to differ from what the work tree had
    live["params"] = {"system": "drifted"}
    drifted = plan_webui(URL, desired, [live], "reg", "c1", prune=False)
    assert drifted.changes[0].reason == (
        "differs from the registry (last applied from a work tree on c1)"
    )
