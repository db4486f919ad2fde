"""diff and review of a change to every model, against the floor of loading both revisions.

    python benchmarks/bench_review.py [--sizes 300,1000] [--runs 3]

For each size it generates a registry (nine in ten models based on another), then a commit
that changes every model's system prompt and temperature, and times, in one run:
- load both (floor): loading the registry at BASE and at HEAD, which any diff needs;
- diff: `modelops diff BASE HEAD` as a library call (load, commits, compare), text rendered;
- review document: the Markdown section and the comment cut to GitHub's limit.
It also reports the size of the whole review and of the comment (GitHub allows 65,536).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_of, generate, save, table
from modelops.cli.reviewing import compare
from modelops.registry.store import Registry
from modelops.review import document, markdown, render


def _change_everything(root: Path) -> None:
    for path in (root / "models").glob("*.yaml"):
        text = path.read_text().replace("Answer briefly", "Answer in one sentence")
        path.write_text(re.sub(r"temperature: 0\.(\d)", r"temperature: 0.\g<1>5", text))
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=b@localhost", "commit", "-qm", "all"],
        cwd=root,
        check=True,
    )


def measure(size: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "registry", size)
        _change_everything(root)
        registry = Registry(root, root)

        def load_both() -> None:
            Registry(root, root).load("HEAD~1")
            Registry(root, root).load("HEAD")

        def diff() -> str:
            return render.text(compare(Registry(root, root), "HEAD~1", "HEAD").diff)

        compared = compare(registry, "HEAD~1", "HEAD")

        def review() -> document.Review:
            section = markdown.section(compared.diff, level=3)
            return document.build(section, "base", "head", [], [], full_at="`review.md`")

        floor, _ = best_of(runs, load_both)
        diff_s, _ = best_of(runs, diff)
        review_s, _ = best_of(runs, review)
        result = review()
    return {
        "models": size,
        "load_both_s": round(floor, 3),
        "diff_s": round(diff_s, 3),
        "ratio_to_load": round(diff_s / floor, 2),
        "review_doc_s": round(review_s, 3),
        "review_chars": document.length(result.full),
        "comment_chars": document.length(result.comment),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="300,1000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(int(size), args.runs) for size in args.sizes.split(",")]
    print(table(rows, list(rows[0])))
    print(f"written to {save('review', {'runs': args.runs, 'results': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
