"""Checks that span the model files of a registry: ids against file names, bases that name a
registry model or a valid Ollama model, and cycles of bases. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelops.errors import Problem
from modelops.spec import names


@dataclass(frozen=True)
class Placed:
    """What the checks across files need to know of a model: its id, base, display name and
    avatar as the file sets them, and where it came from."""

    id: str
    base: str
    path: str  # registry-relative, e.g. models/faq.yaml
    shown: str  # as printed in errors
    positions: Mapping[str, tuple[int, int]]  # line, col of top-level keys
    name: str | None = None
    avatar: str | None = None

    def problem(self, key: str, message: str) -> Problem:
        line, col = self.positions.get(key, (1, 1))
        return Problem(self.shown, line, col, key, message)


def check_ids(models: Mapping[str, Placed]) -> list[Problem]:
    out = []
    for placed in models.values():
        stem = placed.path.rpartition("/")[2].rpartition(".")[0]  # models/<stem>.yaml
        if placed.id != stem:
            out.append(
                placed.problem(
                    "id",
                    f"'{placed.id}' does not match the file name '{stem}.yaml' "
                    f"(rename the file to {placed.id}.yaml or set id: {stem})",
                )
            )
    return out


def check_bases(models: Mapping[str, Placed]) -> list[Problem]:
    """A base is a registry id or a valid Ollama name; bases must not form a cycle."""
    out = []
    for placed in models.values():
        base = placed.base
        if base == placed.id:
            out.append(
                placed.problem(
                    "base",
                    f"{base!r} is this model itself (name an Ollama model such as {base}:latest "
                    "or another registry model)",
                )
            )
        elif base not in models:
            try:
                names.parse_ollama_name(base)
            except names.InvalidName as exc:
                out.append(
                    placed.problem(
                        "base",
                        f"{base!r} is neither a registry model nor a valid Ollama model name "
                        f"({exc}; e.g. llama3.2:latest or hf.co/<user>/<repo>:<quant>)",
                    )
                )
    out += _cycles(models)
    return out


def _cycles(models: Mapping[str, Placed]) -> list[Problem]:
    out = []
    reported: set[str] = set()
    for start in sorted(models):
        path: list[str] = []
        current: str | None = start
        while current is not None and current in models and current not in path:
            path.append(current)
            base = models[current].base
            current = base if base in models and base != current else None
        if current is None or current not in path:
            continue
        cycle = path[path.index(current) :]
        if reported.intersection(cycle) or len(cycle) < 2:
            continue
        reported.update(cycle)
        ring = " -> ".join([*cycle, cycle[0]])
        for member in cycle:
            out.append(
                models[member].problem(
                    "base",
                    f"cycle of bases: {ring} (point one of them at an Ollama model)",
                )
            )
    return out
