"""Load-and-validate against the floor of merely parsing the same files (DESIGN 10).

    python benchmarks/bench_load.py [--sizes 1000,10000] [--runs 3]

For each size it generates a registry of ~30-line model files and times, in one run:
- parse (libyaml): read every file and parse it with PyYAML's CSafeLoader, the floor;
- parse (ruamel safe, C): the same with ruamel.yaml's C loader, for reference;
- read + hash: read every file and compute its git blob id, the floor of a cache keyed by it;
- load+validate (work tree), no cache: what `modelops validate --no-cache` does;
- load+validate, cache filled: the first load, which checks every file and writes the cache;
- load+validate, cache warm: every file found in the validated-file cache;
- the same two at `--rev HEAD` (a file the work tree holds byte for byte is read from there,
  the rest from git; warm: no file is read).
Goals: no cache, at most 1.5x the libyaml parse; warm, under 0.5 s for 10,000 models.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_of, generate, save, table
from modelops.registry.cache import FILE, blob_id
from modelops.registry.store import Registry


def parse_libyaml(files: list[Path]) -> None:
    for path in files:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def parse_ruamel(files: list[Path]) -> None:
    from ruamel.yaml import YAML

    loader = YAML(typ="safe", pure=False)
    for path in files:
        loader.load(path.read_bytes())


def read_and_hash(files: list[Path]) -> None:
    for path in files:
        blob_id(path.read_bytes())


def measure(size: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "registry", size)
        files = sorted((root / "models").glob("*.yaml"))
        cache_file = root / ".git" / "modelops" / FILE

        def load(rev: str | None, cache: bool = True) -> None:
            snapshot = Registry(root, root, cache=cache).load(rev)
            assert not snapshot.problems and len(snapshot.models) == size

        def filling() -> None:
            cache_file.unlink(missing_ok=True)
            load(None)

        floor, _ = best_of(runs, lambda: parse_libyaml(files))
        ruamel, _ = best_of(runs, lambda: parse_ruamel(files))
        hashing, _ = best_of(runs, lambda: read_and_hash(files))
        cold, cold_median = best_of(runs, lambda: load(None, cache=False))
        filled, _ = best_of(runs, filling)
        warm, warm_median = best_of(runs, lambda: load(None))
        rev_cold, _ = best_of(runs, lambda: load("HEAD", cache=False))
        load("HEAD")
        rev_warm, _ = best_of(runs, lambda: load("HEAD"))
    return {
        "models": size,
        "parse_libyaml_s": round(floor, 3),
        "parse_ruamel_c_s": round(ruamel, 3),
        "read_hash_s": round(hashing, 3),
        "no_cache_s": round(cold, 3),
        "no_cache_median_s": round(cold_median, 3),
        "ratio_to_parse": round(cold / floor, 2),
        "filling_cache_s": round(filled, 3),
        "warm_s": round(warm, 3),
        "warm_median_s": round(warm_median, 3),
        "rev_no_cache_s": round(rev_cold, 3),
        "rev_warm_s": round(rev_warm, 3),
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
