"""Start-up, loading, no-op plans and import, each figure beside its floor, in one run:

    python benchmarks/bench_goals.py [--runs 7] [--quick]

| measure | floor beside it | goal |
|---|---|---|
| `modelops --help` | bare Python start-up (`python -c pass`) | < 100 ms |
| `modelops validate` of registry/ (7 models), cache warm | bare Python start-up | < 250 ms |
| load + validate 1,000 models, no cache | libyaml parse of the same files | <= 1.5x floor |
| load + validate 10,000 models, cache warm | libyaml parse; reading and hashing them | < 0.5 s |
| no-op `plan` of 1,000 models, with the record | its HTTP calls; that call alone | < 0.6 s, 1 |
| no-op `plan` of 1,000 models, no record | one `/api/show` per model | < 2 s |
| `modelops import` of 1,000 models, one commit | copying the files in, git add + commit | < 1 s |

Commands are timed as whole processes: the `modelops` script as the README's `pip install .`
installs it, as a user runs it, `--runs` times after one warm-up, with the median reported
beside the best; loading is timed in this process. HTTP calls are counted by the Ollama test
server the timed runs talk to: it runs in this process, the timed `modelops` in another, so the
two do not share an interpreter. Prints a table and writes benchmarks/results/goals.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_exchange import _avatars
from benchmarks.common import generate, save, table
from modelops.registry.cache import blob_id
from modelops.registry.store import Registry, init
from tests.ollama_server import OllamaServer

ROOT = Path(__file__).resolve().parent.parent

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


SCRIPT: list[str] = []  # the `modelops` timed: see _install


def _install(tmp: Path) -> tuple[list[str], str]:
    """modelops as the README's `pip install .` puts it, in a virtual environment of its own
    that shares this one's libraries (a `.pth` file names their folder): a developer's
    editable install adds a module finder that every start imports, which users do not have.
    The bare Python floor is timed with the same interpreter."""
    venv = tmp / "installed"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    ask = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([python, "-c", ask], capture_output=True, text=True, check=True)
    ours = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    (Path(site.stdout.strip()) / "libraries.pth").write_text(ours.stdout.strip() + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(ROOT)], check=True)
    return [str(venv / "bin" / "modelops")], str(python)


def _script() -> list[str]:
    return SCRIPT


class Timed(list[float]):
    """Wall times in seconds, with the CPU time of each run beside them in `cpu`."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: list[float] = []


def _cpu() -> float:
    """CPU seconds of this process and of its finished children, so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(work: Callable[[], Any], into: Timed) -> None:
    start, cpu = time.perf_counter(), _cpu()
    work()
    into.append(time.perf_counter() - start)
    into.cpu.append(_cpu() - cpu)


def _times(runs: int, work: Callable[[], Any], setup: Callable[[], Any] | None = None) -> Timed:
    """`runs` timings of `work` after one warm-up (file-system caches, .pyc files); `setup`
    runs untimed before each."""
    out = Timed()
    for run in range(runs + 1):
        if setup is not None:
            setup()
        _timed(work, out if run else Timed())
    return out


def _process(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> Callable[[], None]:
    def run() -> None:
        proc = subprocess.run(args, cwd=cwd, capture_output=True, check=False)
        assert proc.returncode in ok, (args, proc.returncode, proc.stderr.decode()[-500:])

    return run


def _modelops(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> Callable[[], None]:
    return _process(*_script(), *args, cwd=cwd, ok=ok)


def _row(measure: str, times: Timed, floor: str, goal: str, met: bool) -> dict[str, Any]:
    return {
        "measure": measure,
        "median_s": round(statistics.median(times), 3),
        "best_s": round(min(times), 3),
        "cpu_s": round(statistics.median(times.cpu), 3),
        "floor": floor,
        "goal": goal,
        "met": "yes" if met else "NO",
    }


def startup(runs: int, tmp: Path, python: str) -> list[dict[str, Any]]:
    bare, helped = _alternating(
        runs, _process(python, "-c", "pass", cwd=tmp), _modelops("--help", cwd=tmp)
    )
    floor = f"bare Python {statistics.median(bare):.3f} s, {statistics.median(bare.cpu):.3f} s CPU"
    registry = tmp / "shipped"
    shutil.copytree(ROOT / "registry", registry)
    subprocess.run([*GIT, "init", "-q"], cwd=registry, check=True)
    cold = _times(runs, _modelops("validate", "--no-cache", cwd=registry))
    warm = _times(runs, _modelops("validate", cwd=registry))
    return [
        _row("modelops --help", helped, floor, "< 0.100 s", statistics.median(helped) < 0.1),
        _row(
            "modelops validate, registry/ (7 models), cache warm",
            warm,
            floor,
            "< 0.250 s",
            statistics.median(warm) < 0.25,
        ),
        _row("  the same, --no-cache", cold, floor, "", True),
    ]


def _alternating(
    runs: int, floor: Callable[[], Any], work: Callable[[], Any]
) -> tuple[Timed, Timed]:
    """`runs` timings of each, taken in turn (floor, work, floor, ...) after a warm-up of
    both, so that a ratio of the two is not skewed by the machine's speed changing between
    them (it does, by up to 2.5x in a day on a shared machine)."""
    floors, works = Timed(), Timed()
    for run in range(runs + 1):
        _timed(floor, floors if run else Timed())
        _timed(work, works if run else Timed())
    return floors, works


def _parse_floor(files: list[Path]) -> None:
    import yaml

    for path in files:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def _hash_floor(files: list[Path]) -> None:
    for path in files:
        blob_id(path.read_bytes())


def loading(runs: int, tmp: Path, sizes: tuple[int, int]) -> list[dict[str, Any]]:
    small, large = sizes
    rows = []
    root = generate(tmp / f"load{small}", small)
    files = sorted((root / "models").glob("*.yaml"))

    def load(cache: bool) -> None:
        snapshot = Registry(root, root, cache=cache).load()
        assert not snapshot.problems and len(snapshot.models) == small

    parse, cold = _alternating(runs, lambda: _parse_floor(files), lambda: load(False))
    ratio = statistics.median(cold) / statistics.median(parse)
    rows.append(
        _row(
            f"load + validate {small:,} models, no cache",
            cold,
            f"libyaml parse {statistics.median(parse):.3f} s; ratio {ratio:.2f}x",
            "<= 1.5x floor",
            ratio <= 1.5,
        )
    )
    root = generate(tmp / f"load{large}", large)
    files = sorted((root / "models").glob("*.yaml"))
    parse = _times(max(1, runs // 3), lambda: _parse_floor(files))
    hashing = _times(runs, lambda: _hash_floor(files))

    def warm() -> None:
        registry = Registry(root, root)
        snapshot = registry.load()
        assert not snapshot.problems and len(snapshot.models) == large
        assert registry.cache.misses == 0, "the cache was not warm"

    Registry(root, root).load()  # fills the cache
    warmed = _times(runs, warm)
    floor = (
        f"libyaml parse {statistics.median(parse):.3f} s; "
        f"read + hash {statistics.median(hashing):.3f} s"
    )
    rows.append(
        _row(
            f"load + validate {large:,} models, cache warm",
            warmed,
            floor,
            "< 0.5 s",
            statistics.median(warmed) < 0.5,
        )
    )
    process = _times(max(1, runs // 2), _modelops("validate", cwd=root))
    rows.append(_row(f"  modelops validate, {large:,} models, warm", process, floor, "", True))
    return rows


def _calls(server: OllamaServer) -> dict[str, int]:
    calls: dict[str, int] = {}
    for record in server.requests:
        calls[record.path] = calls.get(record.path, 0) + 1
    return calls


def _get(url: str, path: str, body: dict[str, Any] | None = None) -> None:
    """One call on a new connection, as the floor of a command's calls."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    payload = None if body is None else json.dumps(body).encode()
    connection.request("GET" if body is None else "POST", path, payload)
    assert connection.getresponse().read()
    connection.close()


def _shows(url: str, names: list[str]) -> None:
    """`/api/show` of each model on 8 keep-alive connections at once, as the plan does."""
    parts = urlsplit(url)

    def some(share: list[str]) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        for name in share:
            connection.request("POST", "/api/show", json.dumps({"model": name}).encode())
            assert connection.getresponse().read()
        connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(some, [names[n::8] for n in range(8)]))


def plans(runs: int, tmp: Path, count: int) -> list[dict[str, Any]]:
    root = generate(tmp / "plan", count)
    state = root / ".git" / "modelops" / "ollama-state.json"
    with OllamaServer() as server:
        os.environ["OLLAMA_HOST"] = server.url
        _modelops("apply", "--parallelism", "8", cwd=root)()
        saved = state.read_bytes()
        plan = _modelops("plan", "--detailed-exitcode", cwd=root)

        def counted() -> dict[str, int]:
            server.clear_log()
            plan()
            return _calls(server)

        warm = _times(runs, plan)
        warm_calls = counted()

        colds = _times(runs, plan, lambda: state.unlink(missing_ok=True))
        cold_calls = counted()
        state.write_bytes(saved)
        del os.environ["OLLAMA_HOST"]
        tags = statistics.median(_times(runs, lambda: _get(server.url, "/api/tags")))
        shown = [r.body["model"] for r in server.requests if r.path == "/api/show" and r.body]
        shows = statistics.median(_times(max(1, runs // 2), lambda: _shows(server.url, shown)))

    def described(calls: dict[str, int]) -> str:
        parts = ", ".join(f"{n} {path}" for path, n in sorted(calls.items()))
        return f"{sum(calls.values())} HTTP calls ({parts}); /api/tags alone {tags:.3f} s"

    return [
        _row(
            f"no-op plan, {count:,} models, with the record",
            warm,
            described(warm_calls),
            "< 0.6 s, 1 call",
            statistics.median(warm) < 0.6 and sum(warm_calls.values()) == 1,
        ),
        _row(
            f"no-op plan, {count:,} models, no record",
            colds,
            f"{described(cold_calls)}; the {len(shown):,} /api/show alone {shows:.3f} s",
            "< 2 s",
            statistics.median(colds) < 2.0,
        ),
    ]


def imports(runs: int, tmp: Path, count: int) -> list[dict[str, Any]]:
    source = generate(tmp / "export", count)
    _avatars(source, count)
    exported = tmp / "models.json"
    _modelops("export", "-o", str(exported), cwd=source)()
    fresh: list[Path] = []
    target: list[Path] = []

    def empty() -> None:
        path = tmp / f"import{len(fresh)}"
        init(path, path.parent)
        fresh.append(path)
        target[:] = [path]

    def copy() -> None:
        for folder in ("models", "avatars"):
            for file in (source / folder).iterdir():
                shutil.copy(file, target[0] / folder / file.name)

    def commit() -> None:
        subprocess.run([*GIT, "add", "-A"], cwd=target[0], check=True)
        subprocess.run([*GIT, "commit", "-qm", "import"], cwd=target[0], check=True)

    def run_import() -> None:
        _modelops("import", str(exported), cwd=target[0])()

    timed, writing, floor = Timed(), Timed(), Timed()
    for run in range(runs + 1):  # in turn, as _alternating does; the first is a warm-up
        empty()
        _timed(run_import, timed if run else Timed())
        empty()
        _timed(copy, writing if run else Timed())  # what an import must also do
        _timed(commit, floor if run else Timed())
    both = statistics.median(floor) + statistics.median(writing)
    return [
        _row(
            f"modelops import, {count:,} models, one commit",
            timed,
            f"copying the same files in {statistics.median(writing):.3f} s + git add and "
            f"commit {statistics.median(floor):.3f} s = {both:.3f} s; "
            f"ratio {statistics.median(timed) / both:.2f}x",
            "< 1 s",
            statistics.median(timed) < 1.0,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smaller registries, for a try")
    args = parser.parse_args()
    # Time modelops as installed: pip compiles a package's modules when it installs it, and an
    # editable install compiles them on the first run. With PYTHONDONTWRITEBYTECODE set (some
    # sandboxes set it) every timed run would compile modelops from source again.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "modelops")], check=True)
    sizes = (100, 1000) if args.quick else (1000, 10_000)
    count = 100 if args.quick else 1000
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        SCRIPT[:], python = _install(tmp)
        rows = [
            *startup(args.runs, tmp, python),
            *loading(args.runs, tmp, sizes),
            *plans(args.runs, tmp, count),
            *imports(args.runs, tmp, count),
        ]
    print(table(rows, list(rows[0])))
    print(f"written to {save('goals', {'runs': args.runs, 'results': rows})}")
    return 0 if all(r["met"] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
