"""A registry as read from one place (the work tree or a git revision), fully validated.

Loading parses every model file, checks each on its own, then checks what spans files. All
problems are collected, never just the first. A snapshot can be re-derived with some files
changed, which is how a write operation validates its result before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from modelops.errors import NotFoundError, Problem, SpecError
from modelops.registry.sources import Overlay, Source
from modelops.spec import relations, yamlread
from modelops.spec.avatar import avatar_problem
from modelops.spec.base import about_value
from modelops.spec.checks import check_model
from modelops.spec.config import CONFIG_FILE, Config, parse_config
from modelops.spec.model import MODELS_DIR, ModelSpec

_POSITIONED_KEYS = ("id", "base", "avatar", "name")


@dataclass(frozen=True)
class Model:
    spec: ModelSpec
    path: str
    digest: str  # sha256 of the file's bytes
    placed: relations.Placed

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class Snapshot:
    source: Source
    config: Config | None
    models: dict[str, Model]
    file_problems: dict[str, list[Problem]] = field(default_factory=dict)
    cross_problems: list[Problem] = field(default_factory=list)

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

    def children(self, model_id: str) -> list[str]:
        return sorted(mid for mid, m in self.models.items() if m.spec.base == model_id)

    def read(self, path: str) -> bytes | None:
        return self.source.read(path)

    def with_changes(self, changes: Mapping[str, bytes | None]) -> Snapshot:
        """The snapshot that `changes` would produce; only the changed files are re-parsed."""
        source = Overlay(self.source, changes)
        models = {mid: m for mid, m in self.models.items() if m.path not in changes}
        file_problems = {p: ps for p, ps in self.file_problems.items() if p not in changes}
        for path, content in changes.items():
            if _is_model_path(path) and content is not None:
                _load_one(source, path, content, models, file_problems)
        config = self.config
        if CONFIG_FILE in changes:
            config = _load_config(source, file_problems)
        snapshot = Snapshot(source, config, models, file_problems)
        snapshot.cross_problems = _cross_checks(snapshot)
        return snapshot


def _is_model_path(path: str) -> bool:
    folder, _, name = path.rpartition("/")
    return folder == MODELS_DIR and name.endswith(".yaml") and not name.startswith(".")


def load(source: Source) -> Snapshot:
    file_problems: dict[str, list[Problem]] = {}
    config = _load_config(source, file_problems)
    models: dict[str, Model] = {}
    file_problems.update(_unread(source))
    for path in source.list(MODELS_DIR):
        name = path.rpartition("/")[2]
        if name.startswith(".") or path in file_problems:
            continue  # editor swap files and our own temporary files
        if not name.endswith(".yaml"):
            continue
        content = source.read(path)
        if content is not None:
            _load_one(source, path, content, models, file_problems)
    snapshot = Snapshot(source, config, models, file_problems)
    snapshot.cross_problems = _cross_checks(snapshot)
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


def _load_config(source: Source, file_problems: dict[str, list[Problem]]) -> Config | None:
    raw = source.read(CONFIG_FILE)
    if raw is None:
        return None
    try:
        return parse_config(raw, source.shown(CONFIG_FILE))
    except SpecError as exc:
        file_problems[CONFIG_FILE] = exc.problems
        return None


def parse_model(raw: bytes, shown: str, path: str) -> tuple[Model | None, list[Problem]]:
    """Parse and check one model file on its own."""
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
    positions = {k: doc.locate((k,)) for k in _POSITIONED_KEYS if k in doc.data}
    placed = relations.Placed(spec, path, shown, positions)
    return Model(spec, path, hashlib.sha256(raw).hexdigest(), placed), []


def _load_one(
    source: Source,
    path: str,
    content: bytes,
    models: dict[str, Model],
    file_problems: dict[str, list[Problem]],
) -> None:
    model, problems = parse_model(content, source.shown(path), path)
    if problems:
        file_problems[path] = problems
    elif model is not None:
        models[path.rpartition("/")[2].removesuffix(".yaml")] = model  # by file stem


def _cross_checks(snapshot: Snapshot) -> list[Problem]:
    placed = {mid: m.placed for mid, m in snapshot.models.items()}
    out = relations.check_ids(placed) + relations.check_bases(placed)
    for model in snapshot.models.values():
        avatar = model.spec.avatar
        if avatar is None:
            continue
        safe = ":" not in avatar and ".." not in avatar and not avatar.startswith(".git/")
        content = snapshot.source.read(avatar) if safe else None
        why = avatar_problem(avatar, content)
        folder = avatar.rpartition("/")[0]
        if safe and content is None and "link" in _kinds(snapshot.source, folder, avatar):
            why = "a symbolic link; modelops reads no links (put the image itself there)"
        if why:
            out.append(model.placed.problem("avatar", why))
    if snapshot.config is None and CONFIG_FILE not in snapshot.file_problems:
        shown = snapshot.source.shown(CONFIG_FILE)
        out.append(Problem(shown, 0, 0, "", "missing (run 'modelops init' to create it)"))
    return out
