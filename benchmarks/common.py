"""Shared pieces of the benchmarks: generated registries, timing and the result table."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

MODEL = """\
# yaml-language-server: $schema=../model.schema.json
version: 1
id: {id}
name: Generated model {n}
base: {base}
description: A generated model for benchmarks, number {n}.
tags: [bench, group-{group}]
system: |
  You are generated assistant number {n}. Answer briefly and cite your sources.
  Stay on the topic of group {group}; decline anything else politely.
parameters:
  num_ctx: 8192
  temperature: 0.{t}
  top_p: 0.9
  stop: [<|eot_id|>, "###"]
suggestions:
  - prompt: What can you do?
    title: Intro
  - prompt: Summarise the last answer.
    title: Summary
    subtitle: Short
tools: [search, calculator]
capabilities:
  vision: false
  citations: true
access:
  public: {public}
  read: {{groups: [team-{group}], users: []}}
openwebui:
  params:
    keep_alive: 5m
"""


def generate(root: Path, count: int, *, chains: bool = True) -> Path:
    """A registry of `count` models in a fresh git repository, committed. With `chains`, nine
    in ten models are based on another registry model."""
    from modelops.registry.store import init

    init(root, root.parent)
    models = root / "models"
    for n in range(count):
        base = "llama3.2:latest" if n % 10 == 0 or not chains else f"m{n - n % 10:05d}"
        text = MODEL.format(
            id=f"m{n:05d}", n=n, base=base, group=n % 17, t=n % 10, public=str(n % 2 == 0).lower()
        )
        (models / f"m{n:05d}.yaml").write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "commit",
            "-qm",
            "gen",
        ],
        cwd=root,
        check=True,
    )
    return root


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, float]:
    """(best, median) wall time in seconds over `runs` runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    payload = {"machine": {"python": platform.python_version(), "cpus": _cpus()}, **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
