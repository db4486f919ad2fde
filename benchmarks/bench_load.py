"""Load-and-validate against the floor of merely parsing the same files (DESIGN 10).

    python benchmarks/bench_load.py [--sizes 1000,10000] [--runs 3]

For each size it generates a registry of ~30-line model files and times, in one run:
- parse (libyaml): read every file and parse it with PyYAML's CSafeLoader, the floor;
- parse (ruamel safe, C): the same with ruamel.yaml's C loader, for reference;
- load+validate (work tree): what `modelops validate` does;
- load+validate (--rev HEAD): the same, reading blobs from git.
Goal: load+validate at most 3x the libyaml parse, and under 1 s for 1,000 models.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_of, generate, save, table
from modelops.registry.store import Registry


def parse_libyaml(files: list[Path]) -> None:
    for path in files:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def parse_ruamel(files: list[Path]) -> None:
    from ruamel.yaml import YAML

    loader = YAML(typ="safe", pure=False)
    for path in files:
        loader.load(path.read_bytes())


def measure(size: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "registry", size)
        files = sorted((root / "models").glob("*.yaml"))
        registry = Registry(root, root)

        def load(rev: str | None) -> None:
            snapshot = registry.load(rev)
            assert not snapshot.problems and len(snapshot.models) == size

        floor, _ = best_of(runs, lambda: parse_libyaml(files))
        ruamel, _ = best_of(runs, lambda: parse_ruamel(files))
        work, work_median = best_of(runs, lambda: load(None))
        rev, _ = best_of(runs, lambda: load("HEAD"))
    return {
        "models": size,
        "parse_libyaml_s": round(floor, 3),
        "parse_ruamel_c_s": round(ruamel, 3),
        "load_validate_s": round(work, 3),
        "load_validate_median_s": round(work_median, 3),
        "load_validate_rev_s": round(rev, 3),
        "ratio_to_parse": round(work / floor, 2),
        "per_model_ms": round(work / size * 1000, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(int(size), args.runs) for size in args.sizes.split(",")]
    print(table(rows, list(rows[0])))
    print(f"written to {save('load', {'runs': args.runs, 'results': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
