"""Reconciling into a real Open WebUI 0.12.4 (issue "Open WebUI as a live target"):

    python benchmarks/bench_webui.py [--models 200] [--runs 3]

Starts the Open WebUI the test suite provisions, with the tools the generated models name, and
times, with the number of HTTP requests each makes (counted by a forwarding proxy):
- apply of N generated models from empty: one create each, after the plan's calls;
- a no-op plan of the same N models right after. A plan needs the version, one listing per
  kind of object the models name (here tools and groups), one export of every model and one
  listing of the base rows modelops may have made: five calls, whatever N is.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import generate, save, table
from modelops.cli import main as modelops
from tests import openwebui_server
from tests.http_proxy import Proxy
from tests.webui_objects import delete_models, ensure


def _run(*args: str) -> tuple[int, str]:
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out = io.StringIO()
    try:
        return modelops(list(args)), out.getvalue()
    finally:
        sys.stdout, sys.stderr = saved


def measure(count: int, runs: int) -> list[dict[str, object]]:
    venv = openwebui_server.provision()
    with tempfile.TemporaryDirectory() as tmp:
        server = openwebui_server.start(
            venv, Path(tmp) / "run", ollama_base_url=openwebui_server.REFUSING_URL
        )
        try:
            return _measure(server, Path(tmp), count, runs)
        finally:
            openwebui_server.stop(server)


def _measure(
    server: openwebui_server.OpenWebUI, tmp: Path, count: int, runs: int
) -> list[dict[str, object]]:
    import os

    os.environ["OPENWEBUI_API_KEY"] = server.api_key
    rows = []
    with server.client() as client, Proxy(server.url) as proxy:
        groups = [f"team-{n}" for n in range(20)]
        ensure(client, {"tool": ["search", "calculator"], "group": groups})
        applies, plans = [], []
        for run in range(runs):
            root = generate(tmp / f"registry-{run}", count)
            (root / "modelops.yaml").write_text(
                "version: 1\nname: bench\ntargets:\n"
                f"  webui: {{type: openwebui, url: '{proxy.url}', timeout: 120}}\n"
                "default_target: webui\n"
            )
            os.system(f"cd {root} && git -c user.name=b -c user.email=b@x commit -qam webui")
            ids = sorted(p.stem for p in (root / "models").glob("*.yaml"))
            delete_models(client, ids)
            proxy.seen.clear()
            start = time.perf_counter()
            code, said = _run("apply", "--registry", str(root), "--yes")
            applies.append((time.perf_counter() - start, len(proxy.seen)))
            assert code == 0, said[-2000:]
            proxy.seen.clear()
            start = time.perf_counter()
            code, said = _run("plan", "--registry", str(root), "--detailed-exitcode")
            plans.append((time.perf_counter() - start, len(proxy.seen)))
            assert code == 0, said[-2000:]
            delete_models(client, ids)
            shutil.rmtree(root)
    for name, found, floor in (
        (f"apply {count} models from empty", applies, f"{count + 5} calls"),
        (f"no-op plan of {count} models", plans, "5 calls"),
    ):
        times = sorted(t for t, _ in found)
        rows.append(
            {
                "case": name,
                "median_s": round(times[len(times) // 2], 3),
                "min_s": round(times[0], 3),
                "http_calls": found[0][1],
                "floor": floor,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = measure(args.models, args.runs)
    print(table(rows, ["case", "median_s", "min_s", "http_calls", "floor"]))
    save("webui", {"models": args.models, "runs": args.runs, "rows": rows})


if __name__ == "__main__":
    main()
