"""Checks that span files: ids against file names, bases, cycles of bases, avatars. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from modelops import names
from modelops.errors import Problem
from modelops.spec import ModelSpec

AVATAR_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}
AVATAR_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Placed:
    """A model with what the cross-file checks need to know about where it came from."""

    spec: ModelSpec
    path: str  # registry-relative, e.g. models/faq.yaml
    shown: str  # as printed in errors
    positions: Mapping[str, tuple[int, int]]  # line, col of top-level keys

    def problem(self, key: str, message: str) -> Problem:
        line, col = self.positions.get(key, (1, 1))
        return Problem(self.shown, line, col, key, message)


def check_ids(models: Mapping[str, Placed]) -> list[Problem]:
    out = []
    for placed in models.values():
        stem = PurePosixPath(placed.path).stem
        if placed.spec.id != stem:
            out.append(
                placed.problem(
                    "id",
                    f"'{placed.spec.id}' does not match the file name '{stem}.yaml' "
                    f"(rename the file to {placed.spec.id}.yaml or set id: {stem})",
                )
            )
    return out


def check_bases(models: Mapping[str, Placed]) -> list[Problem]:
    """A base is a registry id or a valid Ollama name; bases must not form a cycle."""
    out = []
    for placed in models.values():
        base = placed.spec.base
        if base == placed.spec.id:
            out.append(
                placed.problem(
                    "base",
                    f"'{base}' is this model itself (name an Ollama model such as {base}:latest "
                    "or another registry model)",
                )
            )
        elif base not in models:
            try:
                names.parse_ollama_name(base)
            except names.InvalidName as exc:
                out.append(
                    placed.problem(
                        "base",
                        f"'{base}' is neither a registry model nor a valid Ollama model name "
                        f"({exc}; e.g. llama3.2:latest or hf.co/<user>/<repo>:<quant>)",
                    )
                )
    out += _cycles(models)
    return out


def _cycles(models: Mapping[str, Placed]) -> list[Problem]:
    out = []
    reported: set[str] = set()
    for start in sorted(models):
        path: list[str] = []
        current: str | None = start
        while current is not None and current in models and current not in path:
            path.append(current)
            base = models[current].spec.base
            current = base if base in models and base != current else None
        if current is None or current not in path:
            continue
        cycle = path[path.index(current) :]
        if reported.intersection(cycle) or len(cycle) < 2:
            continue
        reported.update(cycle)
        ring = " -> ".join([*cycle, cycle[0]])
        for member in cycle:
            out.append(
                models[member].problem(
                    "base",
                    f"cycle of bases: {ring} (point one of them at an Ollama model)",
                )
            )
    return out


def base_chain(models: Mapping[str, ModelSpec], model_id: str) -> list[str]:
    """The model, its registry bases in order, and finally the Ollama base it rests on."""
    chain = [model_id]
    while chain[-1] in models and len(chain) <= len(models):
        chain.append(models[chain[-1]].base)
    return chain


def avatar_problem(avatar: str, content: bytes | None) -> str | None:
    """Why an avatar reference is unusable, or None. `content` is the file's bytes, if any."""
    if avatar.startswith("https://"):
        return None
    if avatar.startswith(("http://", "data:", "javascript:", "file:")):
        scheme = avatar.split(":", 1)[0]
        return f"{scheme}: avatars are not allowed (use an image file in avatars/ or an https URL)"
    path = PurePosixPath(avatar)
    if path.is_absolute() or ".." in path.parts:
        return "must be a path inside the registry, such as avatars/faq.png"
    kind = AVATAR_TYPES.get(path.suffix.lower())
    if kind is None:
        return f"'{path.suffix or avatar}' is not an avatar type (use .png, .jpg, .gif or .webp)"
    if content is None:
        return f"file '{avatar}' does not exist in the registry"
    if len(content) > AVATAR_MAX_BYTES:
        return (
            f"file is {len(content) // 1024} KiB; avatars are limited to "
            f"{AVATAR_MAX_BYTES // 1024} KiB (shrink it)"
        )
    sniffed = sniff_image(content)
    if sniffed is None:
        return f"file '{avatar}' is not a PNG, JPEG, GIF or WebP image"
    if sniffed != kind:
        return f"file '{avatar}' holds a {sniffed.upper()} image (rename it to .{sniffed})"
    return None


def sniff_image(content: bytes) -> str | None:
    """The image format from the file's first bytes: png, jpeg, gif, webp, or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None
