"""Test helpers: run the CLI in-process, and build throw-away registries in real git repos."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.cli import main
from modelops.registry.store import init
from modelops.spec.layout import render_new

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def png(size: tuple[int, int] = (1, 1), colour: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    """A real PNG image, made by Pillow (not by the code under test)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run(*args: str, stdin: str = "") -> Result:
    """Run `modelops ARGS` in this process, as a user would, capturing both streams."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def run_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> Result:
    """Run the real `python -m modelops` in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "modelops", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@dataclass
class RegistryFixture:
    root: Path

    @classmethod
    def create(cls, path: Path) -> RegistryFixture:
        init(path, path.parent)
        return cls(path.resolve())

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def model_text(self, model_id: str, base: str = "llama3.2:latest", **fields: Any) -> str:
        data = {"version": 1, "id": model_id, "base": base, **fields}
        return render_new(data).decode()

    def write(self, model_id: str, text: str) -> Path:
        path = self.root / "models" / f"{model_id}.yaml"
        path.write_text(text)
        return path

    def add(self, model_id: str, base: str = "llama3.2:latest", **fields: Any) -> Path:
        """Write a model file and commit it by hand, as fixture setup."""
        path = self.write(model_id, self.model_text(model_id, base, **fields))
        self.commit(f"add {model_id}")
        return path

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def status(self) -> str:
        return self.git("status", "--porcelain")

    def subjects(self) -> list[str]:
        return self.git("log", "--format=%s").splitlines()

    def last_message(self) -> str:
        return self.git("log", "-1", "--format=%B").strip()

    def last_paths(self) -> list[str]:
        return sorted(self.git("show", "--name-only", "--no-renames", "--format=", "HEAD").split())

    def read(self, model_id: str) -> str:
        return (self.root / "models" / f"{model_id}.yaml").read_text()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` black pixels, written by hand (Pillow would
    allocate the pixels): a few KiB that decode to width * height pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then the row's bits
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def after_apply(setup: tuple[RegistryFixture, Any]) -> tuple[RegistryFixture, Any]:
    """A registry and its Ollama test server once `apply` has run, the server's log cleared."""
    reg, server = setup
    result = run("apply")
    assert result.code == 0, result.err
    server.clear_log()
    return reg, server
