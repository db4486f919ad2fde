"""Reconcile against the Ollama test server (DESIGN 10, issue "reconcile"):

    python benchmarks/bench_reconcile.py [--plan-models 1000] [--apply-models 200] [--latency 0.05]

1. A no-op plan of N models, right after they were applied: HTTP calls and wall time, cold
   (no digest record: every model is inspected) and with the record. Goal: under 2 s cold.
2. An apply of M models with injected create latency, next to the ideal
   latency x models / parallelism. Goal: within 1.5x of the ideal.

Times are taken against the test server in a child process; HTTP calls are counted against
one in this process, whose request log is at hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import generate, save, table
from benchmarks.ollama_process import ollama_process
from modelops.cli import main as modelops
from tests.ollama_server import OllamaServer


def _quiet(*args: str) -> int:
    with Path(os.devnull).open("w") as sink:
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = sink
        try:
            return modelops(list(args))
        finally:
            sys.stdout, sys.stderr = saved


def _calls(server: OllamaServer) -> dict[str, int]:
    calls: dict[str, int] = {}
    for record in server.requests:
        calls[record.path] = calls.get(record.path, 0) + 1
    return calls


def _wall(*args: str) -> float:
    start = time.perf_counter()
    code = _quiet(*args)
    assert code in (0, 2), f"modelops {' '.join(args)} exited {code}"
    return time.perf_counter() - start


def noop_plan(count: int, runs: int) -> list[dict[str, object]]:
    """Calls are counted against an in-process server; time is taken against one in a child
    process."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "registry", count)
        os.chdir(root)
        state = root / ".git" / "modelops" / "ollama-state.json"
        with OllamaServer() as server:
            os.environ["OLLAMA_HOST"] = server.url
            assert _quiet("apply", "--parallelism", "8") == 0
            saved = state.read_bytes()
            state.unlink()
            server.clear_log()
            _wall("plan")
            cold_calls = _calls(server)
            state.write_bytes(saved)
            server.clear_log()
            _wall("plan")
            warm_calls = _calls(server)
        with ollama_process() as url:
            os.environ["OLLAMA_HOST"] = url
            state.unlink()
            assert _quiet("apply", "--parallelism", "8") == 0
            saved = state.read_bytes()
            cold, warm = [], []
            for _ in range(runs):
                state.unlink()
                cold.append(_wall("plan"))
                state.write_bytes(saved)
                warm.append(_wall("plan"))
        os.chdir("/")
    for label, times, calls, goal in (
        ("cold", cold, cold_calls, "< 2 s"),
        ("with record", warm, warm_calls, "1 tags call, 0 show"),
    ):
        rows.append(
            {
                "case": f"no-op plan, {count} models, {label}",
                "wall_s": round(min(times), 3),
                "median_s": round(statistics.median(times), 3),
                "http_calls": sum(calls.values()),
                "show_calls": calls.get("/api/show", 0),
                "tags_calls": calls.get("/api/tags", 0),
                "goal": goal,
            }
        )
    return rows


def apply_with_latency(count: int, latency: float, parallelism: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "registry", count, chains=False)
        os.chdir(root)
        # the base is there already: only the creates are measured
        with ollama_process(pulled=("llama3.2:latest",), create_latency=latency) as url:
            os.environ["OLLAMA_HOST"] = url
            elapsed = _wall("apply", "--parallelism", str(parallelism))
        os.chdir("/")
    ideal = latency * count / parallelism
    return {
        "case": f"apply {count} models, {latency * 1000:.0f} ms/create, parallelism {parallelism}",
        "wall_s": round(elapsed, 3),
        "ideal_s": round(ideal, 3),
        "ratio_to_ideal": round(elapsed / ideal, 2),
        "goal": "<= 1.5x ideal",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--plan-models", type=int, default=1000)
    parser.add_argument("--apply-models", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plans = noop_plan(args.plan_models, args.runs)
    applies = [apply_with_latency(args.apply_models, args.latency, p) for p in (4, 8)]
    print(table(plans, list(plans[0])))
    print()
    print(table(applies, list(applies[0])))
    path = save("reconcile", {"plan": plans, "apply": applies})
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
