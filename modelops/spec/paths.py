"""Where a registry keeps its files: `modelops.yaml` at the top and one file per model in
`models/`. A module of its own, with no imports, so that code which only needs these names
(finding a registry, listing its files, the validated-file cache) loads none of the
pydantic models. Pure."""

from __future__ import annotations

CONFIG_FILE = "modelops.yaml"
MODELS_DIR = "models"  # a registry holds one file per model: models/<id>.yaml


def model_path(model_id: str) -> str:
    """The registry-relative path of a model's file."""
    return f"{MODELS_DIR}/{model_id}.yaml"
