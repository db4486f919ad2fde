"""Reading a conversation file and the images its turns name, with every problem reported at
once and placed in the file. Every read is bounded: the file as a model file is (1 MiB), each
image to 20 MiB and `MAX_PIXELS`, and only regular files are read (a device such as /dev/zero,
or a FIFO that would wait for a writer, is refused unread). Images are decoded before any
model sees them."""

from __future__ import annotations

from pathlib import Path

from modelops.errors import Problem, SpecError
from modelops.registry.files import Unreadable, read_limited
from modelops.spec.avatar import ImageError, check_image
from modelops.spec.conversation import Conversation, parse
from modelops.spec.yamlread import MAX_FILE_BYTES

IMAGE_LIMIT = 20 * 1024 * 1024
Images = dict[tuple[int, int], bytes]  # (turn, position) -> image bytes


def load(path: Path, shown: str) -> tuple[Conversation, Images]:
    """The conversation and its images (by turn and position), or every problem at once."""
    try:
        raw = read_limited(path, MAX_FILE_BYTES)
    except Unreadable as exc:
        raise SpecError([Problem(shown, 0, 0, "", f"the file {exc}")]) from None
    conversation, doc = parse(raw, shown)
    problems: list[Problem] = []
    loaded: Images = {}
    for t, turn in enumerate(conversation.turns):
        for i, name in enumerate(turn.images or []):
            loc = ("turns", t, "images", i)
            try:
                content = read_image(path.parent / name)
            except Unreadable as exc:
                where = f" (paths are relative to {path.name})" if "not exist" in str(exc) else ""
                problems.append(doc.problem(loc, f"image '{name}' {exc}{where}", at_value=True))
                continue
            except ImageError as exc:
                problems.append(doc.problem(loc, f"image '{name}': {exc}", at_value=True))
                continue
            loaded[(t, i)] = content
    if problems:
        raise SpecError(problems)
    return conversation, loaded


def read_image(path: Path) -> bytes:
    """The bytes of an image file, bounded and checked: Unreadable or ImageError says why not."""
    content = read_limited(path, IMAGE_LIMIT)
    check_image(content, limit=IMAGE_LIMIT)
    return content
