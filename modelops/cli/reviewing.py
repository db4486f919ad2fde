"""What diff and review load and play: two revisions of the registry and the commits between
them, the plan of HEAD against each target, and the conversations replayed at both sides. The
commands in `modelops.cli.review` render what comes back."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from modelops.errors import GitError, Problem

if TYPE_CHECKING:
    from modelops.registry.snapshot import Snapshot
    from modelops.registry.store import Registry
    from modelops.replay.results import Answer, Run
    from modelops.review.diff import Image, RegistryDiff
    from modelops.review.document import TargetPlan
    from modelops.review.markdown import ImageSource
    from modelops.review.replays import ReplayPair


@dataclass(frozen=True)
class Compared:
    """Two revisions of a registry, loaded, and their diff."""

    diff: RegistryDiff
    base_sha: str
    head_sha: str | None  # None: the work tree
    base: Snapshot
    head: Snapshot


def _revisions(registry: Registry, base: str | None, head: str | None) -> tuple[str, str, str]:
    """BASE and HEAD as given (`A B`, `A..B`, `A...B`, `A`, or nothing) -> the base commit, its
    label, and HEAD (empty: the work tree)."""
    if base and head is None and "..." in base:
        left, _, right = base.partition("...")
        found = registry.fork_point(left or "HEAD", right or "HEAD")
        if found is None:
            raise GitError(f"{left} and {right} share no history")
        return found, f"{found[:10]} (merge base of {left} and {right or 'HEAD'})", right or "HEAD"
    if base and head is None and ".." in base:
        base, _, head = base.partition("..")
        base, head = base or "HEAD", head or "HEAD"
    if base is None:
        sha, why = registry.merge_base()
        return sha, f"{sha[:10]} ({why})", head or ""
    sha = registry.resolve(base)
    return sha, f"{base} ({sha[:10]})", head or ""


def compare(registry: Registry, base: str | None, head: str | None) -> Compared:
    from modelops.review.diff import Side
    from modelops.review.diff import compare as compare_sides

    base_sha, base_label, head_rev = _revisions(registry, base, head)
    head_sha = registry.resolve(head_rev) if head_rev else None
    before = registry.load(base_sha)
    after = registry.load(head_sha)
    tip = head_sha or (registry.repo.head() or base_sha)
    commits = registry.commits_between(base_sha, tip)
    head_label = f"{head_rev} ({tip[:10]})" if head_sha else "the work tree"
    diff = compare_sides(
        Side(base_label, before.specs(), before.read, _broken(before)),
        Side(head_label, after.specs(), after.read, _broken(after)),
        commits,
    )
    return Compared(diff, base_sha, head_sha, before, after)


def _broken(snapshot: Snapshot) -> frozenset[str]:
    """The ids of the model files that are there but could not be read."""
    from modelops.spec.paths import MODELS_DIR

    return frozenset(
        path.rpartition("/")[2].removesuffix(".yaml")
        for path in snapshot.file_problems
        if path.startswith(MODELS_DIR + "/")
    )


def warn_problems(compared: Compared) -> list[Problem]:
    """Say on stderr that broken files were left out; return HEAD's problems."""
    for label, snapshot in (("BASE", compared.base), ("HEAD", compared.head)):
        if snapshot.problems:
            count = len(snapshot.problems)
            click.echo(
                f"warning: {label} has {count} problem{'s' if count != 1 else ''} (see "
                "'modelops validate'); models in broken files are left out of the diff",
                err=True,
            )
    return compared.head.problems


def url_images(template: str, registry: Registry, compared: Compared) -> ImageSource:
    """Avatars as URLs made from TEMPLATE: {rev} is the commit, {path} the file's path in the
    repository. An avatar only in the work tree has no URL, so it is not shown."""

    def src(side: str, image: Image) -> str | None:
        if image.ref.startswith("https://"):
            return image.ref
        rev = compared.base_sha if side == "before" else compared.head_sha
        if rev is None:
            return None
        path = f"{registry.prefix}/{image.ref}" if registry.prefix else image.ref
        return template.replace("{rev}", rev).replace("{path}", path)

    return src


def plans(
    registry: Registry, compared: Compared, wanted: tuple[str, ...], hosts: tuple[str, ...]
) -> list[TargetPlan]:
    """The plan of HEAD against each target asked for (default: every target); one that cannot
    be planned is named with the reason, and the others go on."""
    from modelops.errors import ModelopsError
    from modelops.reconcile import session
    from modelops.review.document import TargetPlan

    config = compared.head.config
    names = list(wanted) or (sorted(config.targets) if config and config.targets else ["local"])
    out = []
    for name in names:
        if compared.head.problems:
            out.append(TargetPlan(name, None, "HEAD has problems (see above); fix them first"))
            continue
        selection = session.Selection(
            name,
            hosts,
            False,
            compared.head_sha,
            4,
            os.environ.get("OLLAMA_HOST"),
            work_tree=compared.head_sha is None,
        )
        try:
            with session.session(registry, selection) as s:
                out.append(TargetPlan(name, s.plan))
        except ModelopsError as exc:
            out.append(TargetPlan(name, None, exc.message))
    return out


def replays(registry: Registry, compared: Compared, ollama_host: str | None) -> list[ReplayPair]:
    """Each conversation of the work tree that uses a changed model, played at BASE and at
    HEAD: registry models as they were at each side, other models as they are."""
    from modelops.cli.replay import make_resolver
    from modelops.errors import ModelopsError, SpecError
    from modelops.replay import runner
    from modelops.replay import source as conversation_file
    from modelops.review.replays import ReplayPair

    changed = {m.id for m in compared.diff.models}
    renamed = {m.id: m.source for m in compared.diff.models if m.source and m.status == "renamed"}
    resolver = make_resolver(str(registry.root), ollama_host, None, None)
    folder = registry.root / "conversations"
    out = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown = f"conversations/{path.name}"
        try:
            conversation, images = conversation_file.load(path, shown)
            names = runner.models_for(conversation, [])
        except SpecError as exc:
            click.echo(
                f"warning: {shown} is not replayed: {exc.message} (see 'validate')", err=True
            )
            continue
        except ModelopsError:
            continue  # it names no models: no registry change reaches it
        uses = tuple(n for n in names if n in changed or n in renamed.values())
        if not uses:
            continue
        play = runner.switch if conversation.pinned else runner.compare
        options = dict(conversation.defaults or {})
        played: list[tuple[Run | None, str]] = []
        for side in ("base", "head"):
            refs = [_ref(n, side, compared, renamed) for n in names]
            note = next((why for _, why in refs if why), "")
            run = None
            if not note:
                try:
                    providers = {
                        n: resolver.resolve(r) for n, (r, _) in zip(names, refs, strict=True)
                    }
                    run = play(conversation, images, providers, options, shown, _quiet)
                except ModelopsError as exc:
                    note = exc.message
            played.append((run, note))
        (base_run, base_note), (head_run, head_note) = played
        name = conversation.name or shown
        out.append(ReplayPair(shown, name, uses, base_run, head_run, base_note, head_note))
    return out


def _quiet(answer: Answer) -> None:
    """Replays for a review report at the end, not answer by answer."""


def _ref(name: str, side: str, compared: Compared, renamed: dict[str, str]) -> tuple[str, str]:
    """How model NAME of a conversation (named as at HEAD) is played on one side, or why it
    cannot be."""
    at_head = name in compared.head.models
    registry_model = at_head or name in compared.base.models
    if not registry_model:
        return name, ""  # an Ollama or other model: the same on both sides
    if side == "head":
        if not at_head:
            return name, f"{name} is not in HEAD"
        return (f"{name}@{compared.head_sha}" if compared.head_sha else name), ""
    old = renamed.get(name, name)
    if old not in compared.base.models:
        return name, f"{name} is not in BASE"
    return f"{old}@{compared.base_sha}", ""
