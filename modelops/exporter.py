"""`modelops export`: registry models as Open WebUI JSON, a community share, or a Modelfile."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelops import images
from modelops.convert import modelfile, openwebui
from modelops.errors import ModelopsError
from modelops.snapshot import Model, Snapshot


def select(snapshot: Snapshot, ids: Sequence[str]) -> list[Model]:
    if not ids:
        return [snapshot.models[k] for k in sorted(snapshot.models)]
    return [snapshot.get(model_id) for model_id in dict.fromkeys(ids)]


def avatar_uri(snapshot: Snapshot, model: Model) -> str | None:
    avatar = model.spec.avatar
    if avatar is None or avatar.startswith("https://"):
        return avatar
    data = snapshot.read(avatar)
    if data is None:  # pragma: no cover - validation checked that it exists
        raise ModelopsError(f"{model.path}: avatar {avatar} is missing")
    return images.data_uri(data, images.check_image(data))


def records(
    snapshot: Snapshot, models: Sequence[Model], times: Mapping[str, tuple[int, int]]
) -> list[dict[str, Any]]:
    """Open WebUI 0.12.4 export records; timestamps are those of the commits that first
    added and last changed each file."""
    out = []
    for model in models:
        created, updated = times.get(model.path, (0, 0))
        out.append(
            openwebui.to_record(
                model.spec,
                registry_ids=snapshot.models,
                avatar=avatar_uri(snapshot, model),
                created_at=created,
                updated_at=updated,
            )
        )
    return out


def dumps(value: Any, pretty: bool) -> str:
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as Open WebUI saves it


def modelfile_text(model: Model) -> str:
    return modelfile.render(model.spec, model.path)
