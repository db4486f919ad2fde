"""An import checks the model files it renders from the data it rendered them from, without
parsing them back: the result must be what parsing them finds, for every shape Open WebUI
has exported."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelops.exchange import importer
from modelops.exchange.source import read_document
from modelops.registry.model_file import parse_model, rendered_model
from modelops.registry.store import Registry
from tests.helpers import DATA, RegistryFixture


@dataclass
class Recording:
    """A destination that keeps what the import said each new file was rendered from."""

    snapshot: Any
    rendered: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def models(self) -> Any:
        return self.snapshot.models

    @property
    def problems(self) -> Any:
        return self.snapshot.problems

    def read(self, path: str) -> bytes | None:
        return self.snapshot.read(path)

    def with_changes(self, changes: Any, rendered: Any = None) -> Any:
        self.rendered.update(rendered or {})
        return self.snapshot.with_changes(changes, rendered)


@pytest.mark.parametrize("name", ["export-0.12.4.json", "legacy-shapes.json"])
def test_a_rendered_file_checks_as_parsing_it_does(reg: RegistryFixture, name: str):
    raw = (DATA / "openwebui" / name).read_bytes()
    snapshot = Registry(reg.root, reg.root).load().require_valid()
    destination = Recording(snapshot)
    result = importer.plan_import(
        destination, read_document(raw, name, None), name, importer.Options()
    )
    assert destination.rendered, "the import rendered no new file"
    for path, data in destination.rendered.items():
        if path not in result.writes:
            continue  # an entry dropped later
        content = result.writes[path]
        assert content is not None
        parsed, problems = parse_model(content, path, path)
        assert problems == [] and parsed is not None
        checked, none = rendered_model(content, data, path, path)
        assert none == [] and checked is not None
        assert checked.spec == parsed.spec, path
        assert dict(checked.placed.positions) == dict(parsed.placed.positions), path
        assert checked.digest == parsed.digest


def test_data_that_does_not_check_falls_back_to_parsing_so_problems_point_into_the_file():
    content = b"version: 1\nid: faq\nbase: llama3.2\nparameters:\n  temprature: 1\n"
    data = json.loads(
        '{"version": 1, "id": "faq", "base": "llama3.2", "parameters": {"temprature": 1}}'
    )
    model, problems = rendered_model(content, data, "models/faq.yaml", "models/faq.yaml")
    assert model is None
    assert [(p.line, p.key) for p in problems] == [(5, "parameters.temprature")]


def test_positions_are_found_on_their_lines(tmp_path: Path):
    content = (
        b"# modeline\nversion: 1\nid: faq\nname: FAQ\nbase: llama3.2\nsystem: |\n  id: not a key\n"
    )
    data = {
        "version": 1,
        "id": "faq",
        "name": "FAQ",
        "base": "llama3.2",
        "system": "id: not a key\n",
    }
    model, _ = rendered_model(content, data, "m", "m")
    assert model is not None
    assert dict(model.placed.positions) == {"id": (3, 1), "name": (4, 1), "base": (5, 1)}
