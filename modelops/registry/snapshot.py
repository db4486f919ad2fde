"""A registry as read from one place (the work tree or a git revision), fully validated.

Loading parses every model file, checks each on its own, then checks what spans files. All
problems are collected, never just the first. A snapshot can be re-derived with some files
changed, which is how a write operation validates its result before anything is written.

A file that passed its checks before, byte for byte, is taken from the validated-file cache
(`modelops.registry.cache`) instead of being parsed again: the checks across files need only
its id, base, name, avatar and key positions, which the cache keeps; its spec (a pydantic
model) is built from the cached data when first asked for, and planning for Ollama reads the
cached data itself. A load wholly from the cache imports neither a YAML parser nor pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelops.errors import NotFoundError, Problem, SpecError
from modelops.registry.cache import Cache, Positions, blob_id
from modelops.registry.model_file import Lazy, Model, parse_model, rendered_model
from modelops.registry.sources import Overlay, Source
from modelops.spec import relations
from modelops.spec.avatar import avatar_problem
from modelops.spec.inherit import Inheritable
from modelops.spec.paths import CONFIG_FILE, MODELS_DIR

if TYPE_CHECKING:  # pydantic costs ~0.15 s to import: a load from the cache does without it
    from modelops.spec.config import Config
    from modelops.spec.model import ModelSpec


@dataclass
class Snapshot:
    source: Source
    lazy_config: Lazy[Config] | None  # None: missing or invalid
    models: dict[str, Model]
    file_problems: dict[str, list[Problem]] = field(default_factory=dict)
    cross_problems: list[Problem] = field(default_factory=list)
    cache: Cache = field(default_factory=Cache.off, repr=False)

    @property
    def config(self) -> Config | None:
        return self.lazy_config.get() if self.lazy_config is not None else None

    @property
    def problems(self) -> list[Problem]:
        out = [p for ps in self.file_problems.values() for p in ps] + self.cross_problems
        return sorted(out)

    def require_valid(self) -> Snapshot:
        if self.problems:
            raise SpecError(self.problems)
        return self

    def get(self, model_id: str) -> Model:
        if model_id in self.models:
            return self.models[model_id]
        import difflib

        close = difflib.get_close_matches(model_id, list(self.models), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "see 'modelops list'"
        raise NotFoundError(f"no model '{model_id}' in the registry ({hint})")

    def specs(self) -> dict[str, ModelSpec]:
        return {mid: m.spec for mid, m in self.models.items()}

    def bases(self) -> dict[str, Inheritable]:  # what planning for Ollama reads of each
        return {mid: m.basis() for mid, m in self.models.items()}

    def children(self, model_id: str) -> list[str]:
        return sorted(mid for mid, m in self.models.items() if m.placed.base == model_id)

    def read(self, path: str) -> bytes | None:
        return self.source.read(path)

    def blob(self, path: str) -> str | None:
        """The git blob id of a registry file as this snapshot has it, or None if absent."""
        known = self.source.known_blob(path)
        if known is not None:
            return known
        content = self.source.read(path)
        return None if content is None else blob_id(content)

    def outdated_schemas(self) -> list[str]:
        """The schema files in the registry that differ from what this modelops writes."""
        expected = self.cache.get("schemas")
        if expected is None or len(expected) % 2:
            from modelops.spec.schema import schema_files

            expected = [
                part
                for name, text in schema_files().items()
                for part in (name, blob_id(text.encode()))
            ]
            self.cache.put("schemas", expected)
            self.cache.save()
        out = []
        for name, wanted in zip(expected[::2], expected[1::2], strict=True):
            found = self.blob(name)
            if found is not None and found != wanted:
                out.append(name)
        return out

    def with_changes(
        self,
        changes: Mapping[str, bytes | None],
        rendered: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Snapshot:
        """The snapshot that `changes` would produce; only the changed files are read again.
        `rendered`: for model files that the emitter wrote, the data each was written from,
        which is checked without parsing the file (see `rendered_model`)."""
        source = Overlay(self.source, changes)
        models = {mid: m for mid, m in self.models.items() if m.path not in changes}
        file_problems = {p: ps for p, ps in self.file_problems.items() if p not in changes}
        for path, content in changes.items():
            if _is_model_path(path) and content is not None:
                data = (rendered or {}).get(path)
                _load_one(source, path, content, models, file_problems, self.cache, data)
        config = self.lazy_config
        if CONFIG_FILE in changes:
            config = _load_config(source, file_problems, self.cache)
        snapshot = Snapshot(source, config, models, file_problems, cache=self.cache)
        snapshot.cross_problems = _cross_checks(snapshot)
        self.cache.save()
        return snapshot


def _is_model_path(path: str) -> bool:
    folder, _, name = path.rpartition("/")
    return folder == MODELS_DIR and name.endswith(".yaml") and not name.startswith(".")


def load(source: Source, cache: Cache | None = None) -> Snapshot:
    cache = cache or Cache.off()
    file_problems: dict[str, list[Problem]] = {}
    config = _load_config(source, file_problems, cache)
    models: dict[str, Model] = {}
    file_problems.update(_unread(source))
    for path in source.list(MODELS_DIR):
        name = path.rpartition("/")[2]
        if name.startswith(".") or path in file_problems:
            continue  # editor swap files and our own temporary files
        if name.endswith(".yaml"):
            _load_one(source, path, None, models, file_problems, cache)
    snapshot = Snapshot(source, config, models, file_problems, cache=cache)
    snapshot.cross_problems = _cross_checks(snapshot)
    cache.save()
    return snapshot


_WRONG_SUFFIX = (".yml", ".yaml", ".json")
_UNREAD = {
    "link": "a symbolic link; modelops reads no links (put the file itself here)",
    "folder": "a folder; model files live directly in models/ (move its files up)",
}


def _unread(source: Source) -> dict[str, list[Problem]]:
    """What looks like a model but would be skipped: links, sub-folders, `.yml`, `.YAML` and
    `.json` files. Each is an error, so that nothing is silently left undeployed."""
    out = {}
    for path, kind in [*source.others(MODELS_DIR).items()]:
        if not path.rpartition("/")[2].startswith("."):
            out[path] = [Problem(source.shown(path), 0, 0, "", _UNREAD[kind])]
    for path in source.list(MODELS_DIR):
        name = path.rpartition("/")[2]
        if name.lower().endswith(_WRONG_SUFFIX) and not name.endswith(".yaml"):
            why = "model files are YAML and end in .yaml (rename it"
            why += ", and write it as YAML)" if name.lower().endswith(".json") else ")"
            out[path] = [Problem(source.shown(path), 0, 0, "", why)]
    return out


def _kinds(source: Source, folder: str, path: str) -> set[str]:
    others = source.others(folder)
    return {others.get(path, ""), others.get(folder, "")}


def _load_config(
    source: Source, file_problems: dict[str, list[Problem]], cache: Cache
) -> Lazy[Config] | None:
    """modelops.yaml, read when first asked for if the cache knows this content to be valid.
    Only that verdict is kept: a target URL may hold a password, which modelops copies into
    no file of its own."""
    blob, raw = _identify(source, CONFIG_FILE, None)
    if blob is None:
        return None
    if cache.get(f"config:{blob}") == ["valid"]:
        return Lazy(lambda: _parse_config(source, None, vouched=True))
    try:
        config = _parse_config(source, raw)
    except SpecError as exc:
        file_problems[CONFIG_FILE] = exc.problems
        return None
    cache.put(f"config:{blob}", ["valid"])
    return Lazy(value=config)


def _parse_config(source: Source, raw: bytes | None, *, vouched: bool = False) -> Config:
    if vouched:  # read without pydantic
        from modelops.spec.config import read_vouched as parse
    else:
        from modelops.spec.config_check import parse_config as parse
    content = raw if raw is not None else source.read(CONFIG_FILE)
    return parse(content or b"", source.shown(CONFIG_FILE))


def _identify(source: Source, path: str, content: bytes | None) -> tuple[str | None, bytes | None]:
    """A file's blob id, and its bytes when they had to be read for it; (None, None) if absent."""
    if content is None:
        known = source.known_blob(path)
        if known is not None:
            return known, None
        content = source.read(path)
        if content is None:
            return None, None
    return blob_id(content), content


def _load_one(
    source: Source,
    path: str,
    content: bytes | None,
    models: dict[str, Model],
    file_problems: dict[str, list[Problem]],
    cache: Cache,
    rendered: Mapping[str, Any] | None = None,
) -> None:
    stem = path.rpartition("/")[2].removesuffix(".yaml")
    blob, content = _identify(source, path, content)
    if blob is None:
        return
    key = f"model:{blob}"
    hit = cache.get(key)
    if hit is not None and (model := _cached_model(hit, source, path)) is not None:
        models[stem] = model
        return
    content = content if content is not None else source.read(path)
    if content is None:
        return
    shown = source.shown(path)
    if rendered is None:
        model, problems = parse_model(content, shown, path)
    else:
        model, problems = rendered_model(content, rendered, shown, path)
    if problems:
        file_problems[path] = problems
    elif model is not None:
        models[stem] = model  # by file stem
        spec = model.spec
        data = spec.model_dump_json(exclude_unset=True)  # pydantic's serialiser: twice as fast
        where = Positions.text(model.placed.positions)
        name, avatar = spec.name or "", spec.avatar or ""  # never empty when set
        cache.put(key, [spec.id, spec.base, name, avatar, where, model.digest, data])


def _cached_model(hit: list[str], source: Source, path: str) -> Model | None:
    """A model from its cache entry; None when the entry is not what this code writes."""
    try:
        mid, base, name, avatar, where, digest, data = hit
    except ValueError:
        return None
    shown = source.shown(path)
    placed = relations.Placed(
        mid, base, path, shown, Positions(where), name or None, avatar or None
    )
    spec = Lazy(lambda: _spec_from(data, source, path))
    return Model(path, digest, placed, spec, data)


def _spec_from(data: str, source: Source, path: str) -> ModelSpec:
    from modelops.spec.model import ModelSpec

    try:
        return ModelSpec.model_validate_json(data)  # parsed and checked in one pass
    except ValueError:  # a damaged cache entry (pydantic's errors are ValueErrors): read it again
        model, problems = parse_model(source.read(path) or b"", source.shown(path), path)
        if model is None:
            raise SpecError(problems) from None
        return model.spec


def _cross_checks(snapshot: Snapshot) -> list[Problem]:
    placed = {mid: m.placed for mid, m in snapshot.models.items()}
    out = relations.check_ids(placed) + relations.check_bases(placed)
    for model in snapshot.models.values():
        avatar = model.placed.avatar
        if avatar is not None and (why := _avatar_problem(snapshot, avatar)):
            out.append(model.placed.problem("avatar", why))
    if snapshot.lazy_config is None and CONFIG_FILE not in snapshot.file_problems:
        shown = snapshot.source.shown(CONFIG_FILE)
        out.append(Problem(shown, 0, 0, "", "missing (run 'modelops init' to create it)"))
    return out


def _avatar_problem(snapshot: Snapshot, avatar: str) -> str | None:
    """Why an avatar is unusable, with the verdict on an image file kept in the cache (decoding
    an image costs Pillow's import and more)."""
    if ":" in avatar or ".." in avatar or avatar.startswith(".git/"):
        return avatar_problem(avatar, None)
    blob, content = _identify(snapshot.source, avatar, None)
    if blob is None:
        if "link" in _kinds(snapshot.source, avatar.rpartition("/")[0], avatar):
            return "a symbolic link; modelops reads no links (put the image itself there)"
        return avatar_problem(avatar, None)
    key = f"avatar:{blob}:{avatar}"
    hit = snapshot.cache.get(key)
    if hit is not None and len(hit) == 1:
        return hit[0] or None
    content = content if content is not None else snapshot.source.read(avatar)
    why = avatar_problem(avatar, content)
    snapshot.cache.put(key, [why or ""])
    return why
