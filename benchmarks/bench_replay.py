"""Replay in compare mode runs the models at once (issue "replay"):

    python benchmarks/bench_replay.py [--turns 4] [--runs 3]

Three models with injected latencies (time to first token, time per token) answer the same
conversation. Each model answers its turns one after another, so the floor is the slowest
model's own time; the goal is a replay within 1.3x of it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import save, table
from benchmarks.ollama_process import ollama_process
from modelops.cli import main as modelops

TIMING = {  # model: (first token s, per token s)
    "llama3.2:latest": (0.30, 0.010),
    "mistral:latest": (0.10, 0.025),
    "qwen2.5:7b": (0.50, 0.005),
}


def measure(turns: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        conversation = Path(tmp) / "c.yaml"
        lines = ["version: 1", "turns:"] + [
            f"  - user: question number {n} about the topic" for n in range(turns)
        ]
        conversation.write_text("\n".join(lines) + "\n")
        os.chdir(tmp)
        walls, slowest, one_by_one = [], [], []
        with ollama_process(pulled=tuple(TIMING), chat_timing=dict(TIMING)) as url:
            for _ in range(runs):
                out = io.StringIO()
                saved = sys.stdout, sys.stderr
                sys.stdout, sys.stderr = out, io.StringIO()
                start = time.perf_counter()
                try:
                    code = modelops(
                        [
                            "replay",
                            str(conversation),
                            "-m",
                            ",".join(TIMING),
                            "--ollama-host",
                            url,
                            "-o",
                            "json",
                        ]
                    )
                finally:
                    sys.stdout, sys.stderr = saved
                walls.append(time.perf_counter() - start)
                assert code == 0, out.getvalue()[-2000:]
                answers = json.loads(out.getvalue())["answers"]
                per_model = {
                    m: sum(a["total_ms"] for a in answers if a["model"] == m) / 1000 for m in TIMING
                }
                slowest.append(max(per_model.values()))
                one_by_one.append(sum(per_model.values()))
        os.chdir("/")
    wall, floor = min(walls), min(slowest)
    return {
        "case": f"compare {len(TIMING)} models, {turns} turns",
        "wall_s": round(wall, 3),
        "slowest_model_s": round(floor, 3),
        "ratio": round(wall / floor, 2),
        "one_model_at_a_time_s": round(min(one_by_one), 3),
        "goal": "<= 1.3x the slowest model",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    row = measure(args.turns, args.runs)
    print(table([row], list(row)))
    print(f"written to {save('replay', {'runs': args.runs, 'results': [row]})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
