"""One model file on its own: parsed and checked, or checked from the data the emitter wrote
it from; and the `Model` a snapshot holds for it, whose spec (a pydantic model) may be built
only when first asked for."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from modelops.errors import Problem, SpecError
from modelops.spec import relations
from modelops.spec.inherit import Basis, Inheritable

if TYPE_CHECKING:  # pydantic costs ~0.15 s to import: a load from the cache does without it
    from modelops.spec.model import ModelSpec

POSITIONED_KEYS = ("id", "base", "avatar", "name")  # what problems across files point at
_TOP_KEY = re.compile(rb"^([a-z_]+):", re.MULTILINE)  # a top-level key, as the emitter writes
T = TypeVar("T")


class Lazy(Generic[T]):
    """A value, or how to build it the first time it is asked for."""

    __slots__ = ("_build", "_value")

    def __init__(self, build: Callable[[], T] | None = None, value: T | None = None) -> None:
        self._build = build
        self._value = value

    @property
    def ready(self) -> bool:
        return self._build is None

    def get(self) -> T:
        if self._build is not None:
            self._value, self._build = self._build(), None
        assert self._value is not None, "a Lazy needs a value or a way to build one"
        return self._value


@dataclass(frozen=True)
class Model:
    path: str
    digest: str  # sha256 of the file's bytes
    placed: relations.Placed  # id, base, name and avatar, without the spec
    lazy_spec: Lazy[ModelSpec] = field(repr=False, compare=False)
    data: str | None = field(default=None, repr=False, compare=False)  # the cache's JSON

    def basis(self) -> Inheritable:
        """What inheritance and Ollama read: the cache's data until the spec is built."""
        if self.data is not None and not self.lazy_spec.ready:
            return Basis.from_data(json.loads(self.data))
        return self.spec

    @property
    def id(self) -> str:
        return self.placed.id

    @property
    def spec(self) -> ModelSpec:
        return self.lazy_spec.get()


def parse_model(raw: bytes, shown: str, path: str) -> tuple[Model | None, list[Problem]]:
    """Parse and check one model file on its own."""
    from modelops.spec import yamlread
    from modelops.spec.base import about_value
    from modelops.spec.checks import check_model

    try:
        doc = yamlread.load(yamlread.decode(raw, shown), shown)
    except SpecError as exc:
        return None, exc.problems
    spec, raw_problems = check_model(doc.data)
    if spec is None:
        problems = [
            doc.problem(loc, message, at_value=about_value(message))
            for loc, message in raw_problems
        ]
        return None, problems
    positions = {k: doc.locate((k,)) for k in POSITIONED_KEYS if k in doc.data}
    return _model(raw, spec, shown, path, positions), []


def rendered_model(
    raw: bytes, data: Mapping[str, Any], shown: str, path: str
) -> tuple[Model | None, list[Problem]]:
    """A model file that the emitter wrote from `data`, checked without parsing it: the emitter
    writes what reads back as `data` (its property tests hold it to that), and the keys that
    problems across files point at are found on their lines. A file with problems of its own
    is parsed after all, so that they point into it."""
    from modelops.spec.checks import check_model

    spec, _ = check_model(dict(data))
    if spec is None:
        return parse_model(raw, shown, path)
    wanted = {k for k in POSITIONED_KEYS if k in data}
    positions: dict[str, tuple[int, int]] = {}
    line, counted = 1, 0
    for found in _TOP_KEY.finditer(raw):
        if len(positions) == len(wanted):
            break  # the emitter writes these first: the rest of the file need not be read
        line += raw.count(b"\n", counted, found.start())
        counted = found.start()
        key = found.group(1).decode()
        if key in wanted and key not in positions:
            positions[key] = (line, 1)
    return _model(raw, spec, shown, path, positions), []


def _model(
    raw: bytes, spec: ModelSpec, shown: str, path: str, positions: dict[str, tuple[int, int]]
) -> Model:
    placed = relations.Placed(spec.id, spec.base, path, shown, positions, spec.name, spec.avatar)
    return Model(path, hashlib.sha256(raw).hexdigest(), placed, Lazy(value=spec))
