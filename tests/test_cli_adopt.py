"""`modelops adopt` against the real Open WebUI 0.12.4 the suite starts: each edit is made
through the API calls the UI makes (update with the whole record, access/update for a share,
create with the copied record for a clone), shows in `plan` as drift, becomes one commit,
and `rollback` then `apply` restores the earlier state on the server.

One server serves the whole session, so each test uses its own model ids, group names and
registry name (the marker names the registry, so tests never adopt each other's models).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import RegistryFixture, run
from tests.openwebui_server import OpenWebUI

pytestmark = pytest.mark.openwebui
KEY_ENV = "MODELOPS_TEST_WEBUI_KEY"
FORM = ("id", "base_model_id", "name", "meta", "params", "access_grants", "is_active")


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.text}"
    return response.json()


@dataclass
class UI:
    """What a person does in Open WebUI's pages, as the requests those pages send."""

    client: httpx.Client
    made: list[str] = field(default_factory=list)

    def record(self, model_id: str) -> dict[str, Any]:
        return dict(_ok(self.client.get("/api/v1/models/model", params={"id": model_id})))

    def save(self, model_id: str, edit: Callable[[dict[str, Any]], None]) -> None:
        """The model editor: load the whole record, change it, save the whole record."""
        record = self.record(model_id)
        edit(record)
        _ok(self.client.post("/api/v1/models/model/update", json={k: record[k] for k in FORM}))

    def share(self, model_id: str, grants: list[tuple[str, str, str]]) -> None:
        body = {
            "id": model_id,
            "access_grants": [
                {"principal_type": kind, "principal_id": who, "permission": permission}
                for kind, who, permission in grants
            ],
        }
        _ok(self.client.post("/api/v1/models/model/access/update", json=body))

    def clone(self, model_id: str) -> str:
        """Workspace > Models > Clone, then Save: the whole record under a new id and name."""
        record = self.record(model_id)
        record["id"], record["name"] = f"{model_id}-clone", f"{record['name']} (Clone)"
        self.create({k: record[k] for k in FORM})
        return str(record["id"])

    def create(self, form: dict[str, Any]) -> None:
        self.made.append(form["id"])
        _ok(self.client.post("/api/v1/models/create", json=form))

    def delete(self, model_id: str) -> None:
        _ok(self.client.post("/api/v1/models/model/delete", json={"id": model_id}))

    def group(self, name: str) -> str:
        body = {"name": name, "description": "made by a test"}
        return str(_ok(self.client.post("/api/v1/groups/create", json=body))["id"])

    def tool(self, tool_id: str, name: str) -> None:
        content = (
            "class Tools:\n"
            "    def ping(self) -> str:\n"
            '        """Answer pong."""\n'
            '        return "pong"\n'
        )
        body = {"id": tool_id, "name": name, "content": content, "meta": {"description": "ping"}}
        _ok(self.client.post("/api/v1/tools/create", json=body))


@pytest.fixture
def ui(openwebui: OpenWebUI) -> Iterator[UI]:
    with openwebui.client() as client:
        found = UI(client)
        yield found
        for model_id in found.made:
            client.post("/api/v1/models/model/delete", json={"id": model_id})


@pytest.fixture
def webui_reg(
    openwebui: OpenWebUI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request
) -> RegistryFixture:
    """A registry whose target `webui` is the session's Open WebUI; cwd is its folder."""
    reg = RegistryFixture.create(tmp_path / "repo")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:60]
    (reg.root / "modelops.yaml").write_text(
        f"version: 1\nname: adopt-{name}\ntargets:\n"
        f"  webui: {{type: openwebui, url: '{openwebui.url}', api_key_env: {KEY_ENV}}}\n"
        "default_target: webui\n"
    )
    reg.commit("an Open WebUI target")
    monkeypatch.setenv(KEY_ENV, openwebui.api_key)
    monkeypatch.chdir(reg.root)
    return reg


def _model(reg: RegistryFixture, ui: UI, model_id: str) -> None:
    """A model file with comments, committed and applied."""
    reg.write(
        model_id,
        "# yaml-language-server: $schema=../model.schema.json\n"
        "version: 1\n"
        f"id: {model_id}\n"
        "name: Helper\n"
        "base: llama3.2:latest\n"
        "description: Answers questions.  # kept through adopt\n"
        "tags: [adopt]\n"
        "# the voice of it\n"
        "system: You answer questions.\n"
        "parameters:\n"
        "  temperature: 0.4  # tuned by hand\n",
    )
    reg.commit(f"add {model_id}")
    ui.made.append(model_id)
    applied = run("apply", "webui")
    assert applied.code == 0, applied.out + applied.err


def _webp() -> tuple[bytes, str]:
    """What the model editor saves for an uploaded avatar: a 250x250 WebP data URI."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (250, 250), (20, 120, 200)).save(out, "WEBP", quality=80)
    data = out.getvalue()
    return data, "data:image/webp;base64," + base64.b64encode(data).decode()


def _plan_lines(model_id: str) -> list[str]:
    result = run("plan", "webui")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    start = next(i for i, ln in enumerate(lines) if f" {model_id} " in ln)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("      "):
            break
        block.append(line.strip())
    return block


def _trailers(reg: RegistryFixture) -> list[str]:
    return [ln for ln in reg.last_message().splitlines() if ln.startswith("Modelops-")]


@dataclass(frozen=True)
class Edit:
    """One thing a person changes in the UI, what plan and adopt say about it, and what the
    server holds again after rollback and apply."""

    change: Callable[[UI, str], Any]
    plan: list[str]  # the plan's field lines for the model (live -> registry)
    fields: str
    file: str  # the line it leaves in the model file
    restored: Callable[[dict[str, Any]], bool]


def _prompt(ui: UI, model_id: str) -> None:
    ui.save(model_id, lambda r: r["params"].update(system="You answer in one line."))


def _parameter(ui: UI, model_id: str) -> None:
    ui.save(model_id, lambda r: r["params"].update(temperature=0.9))


def _hide(ui: UI, model_id: str) -> None:
    ui.save(model_id, lambda r: r["meta"].update(hidden=True))


def _share(ui: UI, model_id: str) -> str:
    group = ui.group(f"Readers of {model_id}")
    ui.share(model_id, [("group", group, "read")])
    return group


def _avatar(ui: UI, model_id: str) -> None:
    ui.save(model_id, lambda r: r["meta"].update(profile_image_url=_webp()[1]))


def _tags(ui: UI, model_id: str) -> None:
    ui.save(model_id, lambda r: r["meta"].update(tags=[{"name": "adopt"}, {"name": "ui"}]))


def _suggestions(ui: UI, model_id: str) -> None:
    prompts = [{"content": "Explain a join", "title": ["Joins", "LEFT vs INNER"]}]
    ui.save(model_id, lambda r: r["meta"].update(suggestion_prompts=prompts))


def _knowledge(ui: UI, model_id: str) -> str:
    """Knowledge > pick a knowledge base: the editor keeps its id, name, description, type."""
    body = {"name": f"Handbook of {model_id}", "description": "the handbook"}
    found = _ok(ui.client.post("/api/v1/knowledge/create", json=body))
    item = {k: found[k] for k in ("id", "name", "description")}
    ui.save(model_id, lambda r: r["meta"].update(knowledge=[{**item, "type": "collection"}]))
    return str(found["id"])


EDITS = {
    "prompt": Edit(
        _prompt,
        ['system: "You answer in one line." -> "You answer questions."'],
        "system",
        "system: You answer in one line.",
        lambda r: r["params"]["system"] == "You answer questions.",
    ),
    "parameter": Edit(
        _parameter,
        ["parameters.temperature: 0.9 -> 0.4"],
        "parameters.temperature",
        "  temperature: 0.9  # tuned by hand",
        lambda r: r["params"]["temperature"] == 0.4,
    ),
    "hide": Edit(
        _hide,
        ["hidden: true -> (unset)"],
        "hidden",
        "hidden: true",
        lambda r: not r["meta"].get("hidden"),
    ),
    "share": Edit(
        _share,
        ['access: ["read:group:{ref}"] -> []'],
        "access",
        "  read: {groups: [Readers of adopt-share], users: []}",
        lambda r: r["access_grants"] == [],
    ),
    "tags": Edit(
        _tags,
        ['tags: ["adopt", "ui"] -> ["adopt"]'],
        "tags",
        "tags: [adopt, ui]",
        lambda r: r["meta"]["tags"] == [{"name": "adopt"}],
    ),
    "suggestions": Edit(
        _suggestions,
        [
            'suggestions: [{"content": "Explain a join", "title": ["Joins", "LEFT vs INNER"]}] '
            "-> (unset)"
        ],
        "suggestions",
        "    subtitle: LEFT vs INNER",
        lambda r: r["meta"].get("suggestion_prompts") is None,
    ),
    "knowledge": Edit(
        _knowledge,
        [
            'knowledge: [{"id": "{ref}", "name": "Handbook of adopt-knowledge", "description": '
            '"the handbook", "type": "collection"}] -> (unset)'
        ],
        "knowledge",
        "  - name: Handbook of adopt-knowledge",  # by its name, which names it alone: portable
        lambda r: r["meta"].get("knowledge") is None,
    ),
    "avatar": Edit(
        _avatar,
        ['avatar: "image/webp image, 1 KiB" -> (unset)'],
        "avatar",
        "avatar: avatars/adopt-avatar.webp",
        lambda r: r["meta"]["profile_image_url"] is None,
    ),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_an_edit_in_the_ui_is_drift_then_one_commit_and_rollback_restores_it(
    case: str, webui_reg: RegistryFixture, ui: UI
):
    edit, model_id = EDITS[case], f"adopt-{case}"
    _model(webui_reg, ui, model_id)
    ref = edit.change(ui, model_id)  # the id of what it made, if it made something
    assert _plan_lines(model_id) == [
        f"  ~ update  {model_id}  changed in Open WebUI (drift)",
        *(line.replace("{ref}", str(ref)) for line in edit.plan),
    ]
    before = webui_reg.head()

    result = run("adopt", "webui", model_id)

    assert result.code == 0, result.out + result.err
    commit = webui_reg.head()
    assert webui_reg.git("rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert result.out.splitlines()[1] == (
        f"  adopted   {model_id}  committed {commit[:10]}: Adopt {model_id} from webui: "
        f"{edit.fields}"
    )
    assert _trailers(webui_reg) == [
        "Modelops-Op: adopt",
        f"Modelops-Model: {model_id}",
        "Modelops-Target: webui",
        f"Modelops-Fields: {edit.fields}",
    ]
    text = webui_reg.read(model_id)
    assert edit.file in text.splitlines()
    assert str(ref) not in text  # this instance's ids are not written
    # the rest of the file is as it was written, comments included
    assert "description: Answers questions.  # kept through adopt" in text
    assert "# the voice of it" in text
    assert webui_reg.status() == ""
    assert run("plan", "webui", "--detailed-exitcode").code == 0
    latest = json.loads(run("history", model_id, "-o", "json").out)[0]
    assert (latest["commit"], latest["op"], latest["models"]) == (commit, "adopt", [model_id])

    assert run("rollback", model_id, before).code == 0
    assert run("apply", "webui").code == 0
    assert edit.restored(ui.record(model_id))
    assert run("plan", "webui", "--detailed-exitcode").code == 0


def test_a_new_avatar_is_committed_with_the_model_as_a_file_of_its_own(
    webui_reg: RegistryFixture, ui: UI
):
    _model(webui_reg, ui, "adopt-face")
    image, _ = _webp()
    _avatar(ui, "adopt-face")
    assert run("adopt", "webui", "adopt-face").code == 0
    assert webui_reg.last_paths() == ["avatars/adopt-face.webp", "models/adopt-face.yaml"]
    assert (webui_reg.root / "avatars" / "adopt-face.webp").read_bytes() == image
    # a second image goes into a new file, and the first one, now shown by no model, goes
    ui.save("adopt-face", lambda r: r["meta"].update(profile_image_url=_png_uri()))
    assert run("adopt", "webui", "adopt-face").code == 0
    assert webui_reg.last_paths() == [
        "avatars/adopt-face.png",
        "avatars/adopt-face.webp",
        "models/adopt-face.yaml",
    ]
    assert not (webui_reg.root / "avatars" / "adopt-face.webp").exists()
    # so that rolling back brings the earlier image back, file and all
    assert run("rollback", "adopt-face", "HEAD~1").code == 0
    assert (webui_reg.root / "avatars" / "adopt-face.webp").read_bytes() == image


def _png_uri() -> str:
    from tests.helpers import png

    return "data:image/png;base64," + base64.b64encode(png((250, 250))).decode()


def test_a_second_edit_after_an_adopt_is_adopted_too_not_a_conflict(
    webui_reg: RegistryFixture, ui: UI
):
    _model(webui_reg, ui, "adopt-twice")
    _prompt(ui, "adopt-twice")
    assert run("adopt", "webui", "adopt-twice").code == 0
    _parameter(ui, "adopt-twice")  # no apply in between: the marker still names the old commit

    result = run("adopt", "webui", "adopt-twice")

    assert result.code == 0, result.out
    assert result.out.splitlines()[1:3] == [
        f"  adopted   adopt-twice  committed {webui_reg.head()[:10]}: Adopt adopt-twice from "
        "webui: parameters.temperature",
        "      parameters.temperature: 0.4 -> 0.9",
    ]


def test_a_model_changed_in_git_and_in_the_ui_is_a_conflict_and_nothing_is_written_for_it(
    webui_reg: RegistryFixture, ui: UI
):
    _model(webui_reg, ui, "adopt-both")
    applied = webui_reg.head()  # the commit its marker names: later applies leave it in sync
    _model(webui_reg, ui, "adopt-ui-only")
    assert run("set", "adopt-both", "parameters.temperature=0.5").code == 0
    _prompt(ui, "adopt-both")
    _prompt(ui, "adopt-ui-only")
    before, text = webui_reg.head(), webui_reg.read("adopt-both")

    result = run("adopt", "webui", "adopt-both", "adopt-ui-only")

    assert result.code == 1
    assert result.out == (
        f"Target webui: {ui.client.base_url} (Open WebUI 0.12.4)\n"
        f"  conflict  adopt-both     changed in the registry and in Open WebUI since "
        f"{applied[:10]}\n"
        "      in the registry:\n"
        "        parameters.temperature: 0.4 -> 0.5\n"
        "      in Open WebUI:\n"
        '        system: "You answer questions." -> "You answer in one line."\n'
        f"  adopted   adopt-ui-only  committed {webui_reg.head()[:10]}: Adopt adopt-ui-only "
        "from webui: system\n"
        '      system: "You answer questions." -> "You answer in one line."\n'
        "Adopt: 1 commit; 1 adopted, 1 conflict.\n"
    )
    # the other model was still adopted; nothing was written for the conflicting one
    assert webui_reg.git("rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert webui_reg.last_paths() == ["models/adopt-ui-only.yaml"]
    assert webui_reg.read("adopt-both") == text
    listed = json.loads(run("adopt", "webui", "adopt-both", "-o", "json").out)["models"]
    assert listed[0]["registry_fields"] == [
        {"field": "parameters.temperature", "before": 0.4, "after": 0.5}
    ]


def test_a_dry_run_shows_the_commits_and_writes_nothing(webui_reg: RegistryFixture, ui: UI):
    _model(webui_reg, ui, "adopt-dry")
    _prompt(ui, "adopt-dry")
    _avatar(ui, "adopt-dry")
    clone = ui.clone("adopt-dry")
    head = webui_reg.head()

    result = run("adopt", "webui", "adopt-dry", clone, "--dry-run")

    assert result.code == 0, result.err
    assert result.out == (
        f"Target webui: {ui.client.base_url} (Open WebUI 0.12.4)\n"
        "  adopted   adopt-dry        would commit: Adopt adopt-dry from webui: system, avatar\n"
        '      system: "You answer questions." -> "You answer in one line."\n'
        '      avatar: (unset) -> "avatars/adopt-dry.webp"\n'
        "  copied    adopt-dry-clone  would commit: Adopt adopt-dry-clone from webui: a copy of "
        "adopt-dry made in Open WebUI\n"
        '      name: "Helper" -> "Helper (Clone)"\n'
        '      system: "You answer questions." -> "You answer in one line."\n'
        '      avatar: (unset) -> "avatars/adopt-dry.webp"\n'
        "      note: would be marked in Open WebUI as made by modelops\n"
        "Adopt: 2 commits would be made (dry run: nothing written); 1 adopted, 1 copied.\n"
    )
    assert webui_reg.head() == head
    assert webui_reg.status() == ""
    assert not (webui_reg.root / "avatars" / "adopt-dry.webp").exists()
    assert ui.record(clone)["meta"]["modelops"]["model"] == "adopt-dry"  # not taken over


def test_a_copy_made_in_the_ui_is_never_pruned_and_adopts_as_a_new_model(
    webui_reg: RegistryFixture, ui: UI
):
    _model(webui_reg, ui, "adopt-orig")
    clone = ui.clone("adopt-orig")
    assert clone == "adopt-orig-clone"
    # it carries the original's marker, yet it is not modelops's: listed, and left alone
    planned = run("plan", "webui", "--prune")
    assert "? not made by modelops, left alone: adopt-orig-clone" in planned.out.splitlines()[-2]
    assert "- delete" not in planned.out
    assert run("apply", "webui", "--prune").code == 0
    assert ui.record(clone)["name"] == "Helper (Clone)"

    result = run("adopt", "webui", clone)

    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[1:3] == [
        f"  copied    adopt-orig-clone  committed {webui_reg.head()[:10]}: Adopt "
        "adopt-orig-clone from webui: a copy of adopt-orig made in Open WebUI",
        '      name: "Helper" -> "Helper (Clone)"',
    ]
    assert _trailers(webui_reg) == [
        "Modelops-Op: adopt",
        "Modelops-Model: adopt-orig-clone",
        "Modelops-Target: webui",
        "Modelops-Fields: name",
        "Modelops-Source: adopt-orig",
    ]
    assert webui_reg.read(clone) == webui_reg.read("adopt-orig").replace(
        "id: adopt-orig\nname: Helper\n", "id: adopt-orig-clone\nname: Helper (Clone)\n"
    )
    # it is modelops's now: marked with the adopt commit, in sync, and prune may delete it
    marker = ui.record(clone)["meta"]["modelops"]
    assert (marker["commit"], marker["model"]) == (webui_reg.head(), clone)
    assert run("plan", "webui", "--detailed-exitcode").code == 0
    assert run("delete", clone).code == 0
    assert run("apply", "webui", "--prune").code == 0
    assert ui.client.get("/api/v1/models/model", params={"id": clone}).status_code == 404


def test_models_made_in_the_ui_are_adopted_only_when_asked_and_named_portably(
    webui_reg: RegistryFixture, ui: UI
):
    ui.tool("adopt_ping", "Adopt Ping")
    group = ui.group("Adopt Makers")
    form = {
        "id": "adopt-made",
        "base_model_id": "llama3.2:latest",
        "name": "Made Here",
        "params": {"system": "Made in the UI.", "temperature": 0.5, "keep_alive": "5m"},
        "meta": {
            "description": "A model made in Open WebUI.",
            "tags": [{"name": "ui"}],
            "toolIds": ["adopt_ping"],
            "suggestion_prompts": [{"content": "Ping it", "title": ["Ping", "once"]}],
            "capabilities": {"vision": False, "citations": True},
        },
        "access_grants": [
            {"principal_type": "group", "principal_id": group, "permission": "write"}
        ],
        "is_active": True,
    }
    ui.create(form)

    left = run("adopt", "webui", "adopt-made")

    assert (left.code, left.out.splitlines()[1]) == (
        0,
        "  unmanaged adopt-made  made in Open WebUI, not by modelops ('--include-unmanaged' "
        "adopts it)",
    )
    head = webui_reg.head()
    assert run("adopt", "webui", "adopt-made", "--dry-run", "--include-unmanaged").code == 0
    assert webui_reg.head() == head

    result = run("adopt", "webui", "adopt-made", "--include-unmanaged")

    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[1] == (
        f"  created   adopt-made  committed {webui_reg.head()[:10]}: Adopt adopt-made from "
        "webui: made in Open WebUI"
    )
    assert webui_reg.read("adopt-made") == (
        "# yaml-language-server: $schema=../model.schema.json\n"
        "version: 1\n"
        "id: adopt-made\n"
        "name: Made Here\n"
        "base: llama3.2:latest\n"
        "description: A model made in Open WebUI.\n"
        "tags: [ui]\n"
        "system: Made in the UI.\n"
        "parameters:\n"
        "  temperature: 0.5\n"
        "suggestions:\n"
        "  - prompt: Ping it\n"
        "    title: Ping\n"
        "    subtitle: once\n"
        "tools: [adopt_ping]\n"
        "capabilities:\n"
        "  vision: false\n"
        "  citations: true\n"
        "access:\n"
        "  write: {groups: [Adopt Makers], users: []}\n"
        "openwebui:\n"
        "  params:\n"
        "    keep_alive: '5m'\n"
    )
    # marked as modelops's, so plan manages it: in sync, not "left alone"
    marker = ui.record("adopt-made")["meta"]["modelops"]
    assert (marker["commit"], marker["model"]) == (webui_reg.head(), "adopt-made")
    planned = run("plan", "webui", "--detailed-exitcode")
    assert planned.code == 0 and "adopt-made" not in planned.out
    assert run("adopt", "webui", "adopt-made", "--include-unmanaged").out.splitlines()[1:] == [
        "  = 1 model in sync",
        "Adopt: 0 commits; 1 in sync.",
    ]


def test_a_model_applied_from_a_dirty_work_tree_is_not_adopted(webui_reg: RegistryFixture, ui: UI):
    _model(webui_reg, ui, "adopt-dirty")
    text = webui_reg.read("adopt-dirty").replace("name: Helper", "name: Draft")
    (webui_reg.root / "models" / "adopt-dirty.yaml").write_text(text)
    assert run("apply", "webui", "--work-tree").code == 0
    marker = ui.record("adopt-dirty")["meta"]["modelops"]
    assert (marker["commit"], marker.get("work_tree")) == (webui_reg.head(), True)
    _prompt(ui, "adopt-dirty")
    head = webui_reg.head()

    result = run("adopt", "webui", "adopt-dirty")

    assert (result.code, result.out.splitlines()[1]) == (
        0,
        "  skipped   adopt-dirty  it was applied with uncommitted changes of a work tree, so what "
        "the UI changed cannot be told apart from them (commit them, apply, then adopt)",
    )
    assert webui_reg.head() == head
    # applying the commit again clears the mark, and the reason says what was deployed
    (webui_reg.root / "models" / "adopt-dirty.yaml").write_text(text.replace("Draft", "Helper"))
    assert _plan_lines("adopt-dirty")[0] == (
        f"  ~ update  adopt-dirty  differs from the registry (last applied from a work tree on "
        f"{head[:10]})"
    )
    assert run("apply", "webui").code == 0
    assert "work_tree" not in ui.record("adopt-dirty")["meta"]["modelops"]


def test_a_model_deleted_in_the_ui_is_reported_with_what_to_do(webui_reg: RegistryFixture, ui: UI):
    _model(webui_reg, ui, "adopt-gone")
    ui.delete("adopt-gone")
    head = webui_reg.head()

    result = run("adopt", "webui", "adopt-gone")

    assert (result.code, result.out.splitlines()[1:]) == (
        0,
        [
            "  missing   adopt-gone  in the registry, not in Open WebUI (deleted there, or never "
            "applied); adopt deletes no files: 'modelops delete adopt-gone' removes it from the "
            "registry, 'modelops apply webui' puts it back",
            "Adopt: 0 commits; 1 missing.",
        ],
    )
    assert webui_reg.head() == head


def test_models_of_another_registry_are_left_to_it(
    webui_reg: RegistryFixture, ui: UI, tmp_path: Path
):
    _model(webui_reg, ui, "adopt-theirs")
    _prompt(ui, "adopt-theirs")
    config = (webui_reg.root / "modelops.yaml").read_text()
    other = RegistryFixture.create(tmp_path / "other")
    (other.root / "modelops.yaml").write_text(config.replace("name: adopt-", "name: other-"))
    other.commit("the same target")

    result = run("adopt", "webui", "adopt-theirs", "--include-unmanaged", "--registry", "../other")

    name = re.search(r"name: (\S+)", config)
    assert name is not None
    assert (result.code, result.out.splitlines()[1]) == (
        0,
        f"  skipped   adopt-theirs  made by modelops for another registry, '{name.group(1)}'",
    )
    assert other.subjects() == ["the same target", "Initialise the modelops registry"]


def test_an_unknown_model_and_an_unreachable_server_are_one_line_errors(
    webui_reg: RegistryFixture, ui: UI, monkeypatch: pytest.MonkeyPatch
):
    result = run("adopt", "webui", "adopt-nowhere")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: no model 'adopt-nowhere' in Open WebUI at {ui.client.base_url}, nor in the "
        "registry (see 'modelops plan' and 'modelops list')\n"
    )
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    refused = run("adopt", "webui")
    assert (refused.code, refused.out, len(refused.err.splitlines())) == (1, "", 1)
    assert refused.err.startswith("error: ") and "sk-wrong" not in refused.err


def test_wrapping_an_ollama_target_the_base_stays_the_registry_s(
    webui_reg: RegistryFixture, ui: UI, ollama_server
):
    (webui_reg.root / "modelops.yaml").write_text(
        (webui_reg.root / "modelops.yaml")
        .read_text()
        .replace(
            "targets:\n",
            f"targets:\n  gpu: {{type: ollama, host: '{ollama_server.url}', namespace: team}}\n",
        )
        .replace(f"api_key_env: {KEY_ENV}}}", f"api_key_env: {KEY_ENV}, ollama: gpu}}")
    )
    webui_reg.commit("wrap an Ollama target")
    _model(webui_reg, ui, "adopt-wrapped")
    assert ui.record("adopt-wrapped")["base_model_id"] == "team/adopt-wrapped:latest"
    _prompt(ui, "adopt-wrapped")
    clone = ui.clone("adopt-wrapped")

    result = run("adopt", "webui", "adopt-wrapped", clone)

    assert result.code == 0, result.out + result.err
    assert "base:" not in result.out  # team/adopt-wrapped:latest is the model's own Ollama model
    assert "base: llama3.2:latest" in webui_reg.read("adopt-wrapped")
    assert "base: llama3.2:latest" in webui_reg.read(clone)
    # Open WebUI holds what the registry now says; the Ollama model is what apply updates
    planned = run("plan", "webui", "-o", "json")
    changes = [
        (h["product"], c["action"], c["name"])
        for h in json.loads(planned.out)["hosts"]
        for c in h["changes"]
        if c["action"] != "noop"
    ]
    assert sorted(changes) == [
        ("Ollama", "create", "team/adopt-wrapped-clone:latest"),
        ("Ollama", "update", "team/adopt-wrapped:latest"),
        ("Open WebUI", "create", "team/adopt-wrapped-clone:latest"),  # the row that hides it
        ("Open WebUI", "update", clone),  # to wrap its own Ollama model
    ]


def test_adopt_needs_an_open_webui_target(reg: RegistryFixture):
    result = run("adopt", "local")
    assert (result.code, result.err) == (
        64,
        "error: adopt reads what people changed in Open WebUI; target 'local' is an Ollama "
        "target (name an Open WebUI target)\n",
    )


def test_a_model_that_cannot_be_written_fails_alone(webui_reg: RegistryFixture, ui: UI):
    _model(webui_reg, ui, "adopt-hot")
    _model(webui_reg, ui, "adopt-dirty")
    _model(webui_reg, ui, "adopt-fine")
    ui.save("adopt-hot", lambda r: r["params"].update(temperature="hot"))  # stored as sent
    for model_id in ("adopt-dirty", "adopt-fine"):
        _prompt(ui, model_id)
    path = webui_reg.root / "models" / "adopt-dirty.yaml"
    path.write_text(path.read_text() + "# my uncommitted note\n")
    head = webui_reg.head()

    result = run("adopt", "webui", "adopt-hot", "adopt-dirty", "adopt-fine")

    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[1] == (
        "  failed    adopt-dirty  models/adopt-dirty.yaml: uncommitted changes in a file this "
        "operation must change (commit or discard them first; see 'git status')"
    )
    assert lines[3].startswith("  adopted   adopt-fine   committed ")
    assert lines[5] == (
        "  failed    adopt-hot    cannot be written as a model file: params.temperature: expected a "
        "number, got string 'hot'"
    )
    assert webui_reg.git("rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert path.read_text().endswith("# my uncommitted note\n")
    assert "You answer questions." in path.read_text()


def test_adopt_refuses_a_registry_with_problems_at_head(reg: RegistryFixture):
    reg.write("broken", "version: 1\nid: broken\nbase: llama3.2\nparameters: {temprature: 1}\n")
    reg.commit("a typo")
    result = run("adopt", "webui")
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines() == [
        "HEAD:models/broken.yaml:4:14: parameters.temprature: unknown parameter (did you mean "
        "'temperature'?)",
        "error: 1 problem found",
    ]


@pytest.mark.parametrize("by", ["adopt", "resync"])
def test_the_watcher_adopts_ui_edits_and_never_reverts_them(
    by: str, webui_reg: RegistryFixture, ui: UI
):
    """On its own interval (`adopt`), or first thing in a full reconcile (`resync`), which
    would otherwise put the registry's version back."""
    from modelops.watch.daemon import Options
    from tests.watch_helpers import watching

    model_id = f"adopt-watched-{by}"
    _model(webui_reg, ui, model_id)
    often, never = 0.2, 3600.0
    options = Options(
        targets=("webui",),
        interval=often if by == "resync" else never,
        adopt_every=often if by == "adopt" else never,
        environ=dict(os.environ),
    )
    with watching(webui_reg.root, options) as watch:
        before = webui_reg.head()
        _prompt(ui, model_id)
        adopted = watch.wait_event("adopted", model=model_id)
        # then the adopted file is reconciled: by the full reconcile that adopted it, or as
        # any save is (the commit changed the file)
        after = watch.events.index(adopted)
        watch.wait_for(
            lambda: any(
                e["event"] == "reconciled" and model_id in (e["models"] or [model_id])
                for e in watch.events[after:]
            ),
            "the adopted file reconciled",
        )
    assert adopted["why"] == by
    assert adopted["commit"] == webui_reg.head() != before
    assert adopted["message"] == (
        f"{model_id}: committed {adopted['commit'][:10]}: Adopt {model_id} from webui: system"
    )
    assert "system: You answer in one line." in webui_reg.read(model_id)
    assert ui.record(model_id)["params"]["system"] == "You answer in one line."
    assert watch.named("changed", model=model_id) == []  # Open WebUI was never written back
