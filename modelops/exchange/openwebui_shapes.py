"""The shapes Open WebUI has written model JSON in, brought to the 0.12 record: an array,
`{"models": [...]}` or a single object; 0.3-0.5 `/api/models` wrappers with `info`; 0.1
modelfiles (`tagName` and Modelfile `content`); the admin panel's mixed files, whose arena and
provider models are recognised and skipped. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelops.exchange import modelfile
from modelops.spec.words import describe


class EntryError(ValueError):
    """Why one entry of an import file cannot become a model definition."""


class NotAModel(EntryError):
    """The entry is something other than a workspace model; skipping it is expected."""


@dataclass
class Entry:
    position: int  # 1-based, in the file
    record: dict[str, Any] | None
    skip: str | None = None  # why it goes no further: not a model, or not readable
    error: bool = False  # the skip is a problem of the entry, not an expected one

    @property
    def source_id(self) -> str:
        value = (self.record or {}).get("id")
        return value if isinstance(value, str) else ""


def entries(document: Any) -> list[Entry]:
    if isinstance(document, dict) and "models" in document and "id" not in document:
        if not isinstance(document["models"], list):
            raise EntryError(
                f"models: expected a list of models, got {describe(document['models'])}"
            )
        items: list[Any] = document["models"]
    elif isinstance(document, list):
        items = document
    elif isinstance(document, dict):
        items = [document]
    else:
        raise EntryError(f"expected a JSON array or object of models, got {describe(document)}")
    return [_entry(i, item) for i, item in enumerate(items, start=1)]


def _entry(position: int, item: Any) -> Entry:
    if not isinstance(item, dict):
        return Entry(position, None, f"expected an object, got {describe(item)}", error=True)
    if isinstance(item.get("info"), dict) and item["info"].get("id"):
        return Entry(position, dict(item["info"]))  # a 0.3-0.5 /api/models wrapper
    named = {"id": item.get("id")}  # what a skipped entry is reported by
    if "id" in item and not isinstance(item["id"], str):
        return Entry(position, None, f"id: expected a string, got {describe(item['id'])}", True)
    if item.get("owned_by") == "arena":
        return Entry(position, named, "an arena model, not a workspace model")
    if "tagName" in item and "content" in item:
        try:
            return Entry(position, _from_modelfile_entry(item))
        except EntryError as exc:
            return Entry(position, {"id": item.get("tagName")}, str(exc), error=True)
    if "object" in item and "base_model_id" not in item:
        reason = "a provider model from the admin panel, not a workspace model"
        return Entry(position, named, reason)
    return Entry(position, dict(item))


def _from_modelfile_entry(item: dict[str, Any]) -> dict[str, Any]:
    """A 0.1 'modelfile' to the record the 0.2 migration made of it."""
    tag = str(item.get("tagName") or "")
    model_id = tag.removesuffix(":latest")
    try:
        parsed = modelfile.parse(str(item.get("content") or "")).data
    except modelfile.ModelfileError as exc:
        raise EntryError(f"its Modelfile content: {exc}") from None
    params = dict(parsed.get("parameters", {}))
    for key in ("system", "template"):
        if key in parsed:
            params[key] = parsed[key]
    prompts = [
        {"content": p.get("content", "")}
        for p in item.get("suggestionPrompts") or []
        if isinstance(p, dict)
    ]
    return {
        "id": model_id,
        "name": item.get("title") or model_id,
        "base_model_id": parsed.get("base"),
        "params": params,
        "meta": {
            "description": item.get("desc"),
            "profile_image_url": item.get("imageUrl"),
            "suggestion_prompts": prompts or None,
            "tags": [{"name": c} for c in item.get("categories") or [] if isinstance(c, str)],
        },
        "access_control": None,  # modelfiles were visible to everyone
    }
