"""Export to and import from Open WebUI JSON (issue "export and import"):

    python benchmarks/bench_exchange.py [--models 1000] [--runs 3]

Times, for a registry of N generated models (one in ten with an avatar):
- export: `modelops export -o FILE` of every model (goal: under 1 s for 1,000);
- import: `modelops import FILE` into an empty registry, one commit (goal: under 5 s);
- re-import: the same file again, every entry unchanged, no commit.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import generate, save, table
from modelops.cli import main as modelops


def _quiet(*args: str) -> int:
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        return modelops(list(args))
    finally:
        sys.stdout, sys.stderr = saved


def _avatars(root: Path, count: int) -> None:
    from PIL import Image

    for n in range(0, count, 10):
        image = Image.new("RGB", (64, 64), (n % 256, 80, 160))
        image.save(root / "avatars" / f"m{n:05d}.png", "PNG")
        path = root / "models" / f"m{n:05d}.yaml"
        text = path.read_text().replace(
            "description:", f"avatar: avatars/m{n:05d}.png\ndescription:"
        )
        path.write_text(text)
    os.system(f"cd {root} && git add -A && git -c user.name=b -c user.email=b@x commit -qm avatars")


def _timed(*args: str) -> float:
    start = time.perf_counter()
    code = _quiet(*args)
    assert code == 0, f"modelops {' '.join(args)} exited {code}"
    return time.perf_counter() - start


def measure(count: int, runs: int) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        source = generate(Path(tmp) / "source", count)
        _avatars(source, count)
        target = Path(tmp) / "models.json"
        os.chdir(source)
        exports = [_timed("export", "-o", str(target)) for _ in range(runs)]
        size = target.stat().st_size
        imports, reimports = [], []
        for n in range(runs):
            fresh = Path(tmp) / f"fresh{n}"
            from modelops.registry.store import init

            init(fresh, fresh.parent)
            os.chdir(fresh)
            imports.append(_timed("import", str(target)))
            reimports.append(_timed("import", str(target)))
        os.chdir("/")
    return [
        {
            "case": f"export {count} models ({size / 1e6:.1f} MB)",
            "best_s": round(min(exports), 3),
            "goal": "< 1 s",
        },
        {
            "case": f"import {count} models, one commit",
            "best_s": round(min(imports), 3),
            "goal": "< 5 s",
        },
        {
            "case": f"re-import {count} models, all unchanged",
            "best_s": round(min(reimports), 3),
            "goal": "",
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = measure(args.models, args.runs)
    print(table(rows, list(rows[0])))
    print(f"written to {save('exchange', {'runs': args.runs, 'results': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
