"""The watcher (issue "watch"): latency from a save to the model reconciled, and the watcher's
CPU and memory while nothing changes.

    python benchmarks/bench_watch.py [--models 100,1000] [--saves 15] [--window 30]

For each registry size: generated models are applied once, then `modelops watch` runs as a
child process against the Ollama test server (in another child process). Each save rewrites
one model file with a new temperature; the latency is the time from the write to the
watcher's "reconciled" log line for that model. Its floor is the debounce quiet period (the
watcher waits that long for a burst to end) plus two `/api/tags` listings of the host (one to
plan, one to record the new digests), which grow with the number of models on it; next to
it, the same change applied by running `modelops apply` in a new process, as a user would
without the watcher. Then the
watcher is left alone for `--window` seconds with `--interval` equal to the window, so the
CPU figure includes one periodic full reconcile; memory is its resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from benchmarks.common import generate, save, table
from benchmarks.ollama_process import ollama_process

DEBOUNCE = 0.3
TICKS = os.sysconf("SC_CLK_TCK")


def _modelops(*args: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "modelops", *args], cwd=cwd, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


class Watcher:
    """`modelops watch` in a child process; its JSON log lines, each with when it was read."""

    def __init__(self, cwd: Path, env: dict[str, str], interval: float) -> None:
        self.lines: list[tuple[float, dict[str, object]]] = []
        self.changed = threading.Condition()
        flags = ["--log-format", "json", "--interval", f"{interval}s", "--debounce", f"{DEBOUNCE}s"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelops", "watch", *flags],
            cwd=cwd,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            when = time.perf_counter()
            with self.changed:
                self.lines.append((when, json.loads(line)))
                self.changed.notify_all()

    def wait(self, event: str, after: int, model: str | None = None) -> tuple[float, int]:
        """When the first `event` line after line number `after` was read, and its number."""
        with self.changed:
            while True:
                for n, (when, line) in enumerate(self.lines[after:], after):
                    models = line.get("models")
                    named = model is None or (isinstance(models, list) and model in models)
                    if line["event"] == event and named:
                        return when, n + 1
                if not self.changed.wait(120):
                    raise RuntimeError(f"no {event} line: {self.lines[-5:]}")

    def usage(self) -> tuple[float, int]:
        """CPU seconds used so far, and the resident set size in bytes."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / TICKS
        rss = next(
            int(line.split()[1]) * 1024
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
            if line.startswith("VmRSS:")
        )
        return cpu, rss

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def run(count: int, saves: int, window: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, ollama_process(("llama3.2:latest",)) as url:
        root = generate(Path(tmp) / "registry", count)
        env = {**os.environ, "OLLAMA_HOST": url, "MODELOPS_REGISTRY": str(root)}
        _modelops("apply", cwd=root, env=env)
        target = root / "models" / "m00005.yaml"
        text = target.read_text()
        one = []
        for n in range(3):  # the floor: a one-model change applied by hand
            target.write_text(text.replace("temperature: 0.5", f"temperature: 0.{n + 1}1"))
            one.append(_modelops("apply", cwd=root, env=env))
        tags = []
        with httpx.Client(base_url=url) as client:
            for _ in range(5):
                start = time.perf_counter()
                client.get("/api/tags").raise_for_status()
                tags.append(time.perf_counter() - start)
        watcher = Watcher(root, env, interval=window)
        try:
            _, seen = watcher.wait("reconciled", 0)
            latencies = []
            for n in range(saves):
                target.write_text(text.replace("temperature: 0.5", f"temperature: 0.{n + 1:02d}"))
                start = time.perf_counter()
                done, seen = watcher.wait("reconciled", seen, "m00005")
                latencies.append(done - start)
            cpu0, _ = watcher.usage()
            idle_start = time.perf_counter()
            time.sleep(window + 1)
            cpu1, rss = watcher.usage()
            idle = time.perf_counter() - idle_start
        finally:
            watcher.stop()
    latencies.sort()
    return {
        "models": count,
        "saves": saves,
        "median_s": round(statistics.median(latencies), 3),
        "p90_s": round(latencies[int(0.9 * (len(latencies) - 1))], 3),
        "max_s": round(latencies[-1], 3),
        "debounce_s": DEBOUNCE,
        "tags_s": round(statistics.median(tags), 3),
        "floor_s": round(DEBOUNCE + 2 * statistics.median(tags), 3),
        "apply_cli_s": round(statistics.median(one), 3),
        "idle_cpu_percent": round(100 * (cpu1 - cpu0) / idle, 2),
        "idle_window_s": round(idle, 1),
        "rss_mib": round(rss / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="100,1000")
    parser.add_argument("--saves", type=int, default=15)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    rows = [run(int(n), args.saves, args.window) for n in args.models.split(",")]
    columns = ["models", "saves", "median_s", "p90_s", "max_s", "debounce_s", "tags_s"]
    columns += ["floor_s", "apply_cli_s"]
    columns += ["idle_cpu_percent", "idle_window_s", "rss_mib"]
    print(table(rows, columns))
    print(f"results: {save('watch', {'watch': rows})}")


if __name__ == "__main__":
    main()
