"""Reading a conversation file and the images its turns name, with every problem reported at
once and placed in the file. Images are bounded (20 MiB each) and decoded before any model
sees them."""

from __future__ import annotations

from pathlib import Path

from modelops.errors import Problem, SpecError
from modelops.spec.avatar import ImageError, check_image
from modelops.spec.conversation import Conversation, parse

IMAGE_LIMIT = 20 * 1024 * 1024
Images = dict[tuple[int, int], bytes]  # (turn, position) -> image bytes


def load(path: Path, shown: str) -> tuple[Conversation, Images]:
    """The conversation and its images (by turn and position), or every problem at once."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read it: {exc.strerror}")]) from None
    conversation, doc = parse(raw, shown)
    problems: list[Problem] = []
    loaded: Images = {}
    for t, turn in enumerate(conversation.turns):
        for i, name in enumerate(turn.images or []):
            loc = ("turns", t, "images", i)
            try:
                content = (path.parent / name).read_bytes()
                check_image(content, limit=IMAGE_LIMIT)
            except OSError:
                problems.append(
                    doc.problem(
                        loc,
                        f"image '{name}' not found (paths are relative to {path.name})",
                        at_value=True,
                    )
                )
                continue
            except ImageError as exc:
                problems.append(doc.problem(loc, f"image '{name}': {exc}", at_value=True))
                continue
            loaded[(t, i)] = content
    if problems:
        raise SpecError(problems)
    return conversation, loaded
