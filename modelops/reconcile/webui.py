"""The Open WebUI use cases: observe a server and plan the registry against it, alone or
after the Ollama target it wraps (`ollama:` on the target). Wrapped, each workspace model's
base is the Ollama model made for it, and that Ollama model's own entry in the model selector
is hidden, so each model shows once, as the workspace model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelops.errors import ModelopsError, TargetError
from modelops.exchange.openwebui_export import avatar_uri
from modelops.reconcile.plan import HostPlan
from modelops.reconcile.webui_plan import (
    MARKER,
    desired_records,
    marked,
    plan_webui,
    seen,
    wanted_kinds,
)
from modelops.registry.snapshot import Snapshot
from modelops.spec.config import OpenWebUITargetConfig

if TYPE_CHECKING:  # httpx costs 0.3 s to import: a plan of Ollama hosts does without it
    from modelops.targets.openwebui import OpenWebUIServer

PRODUCT = "Open WebUI"


@dataclass(frozen=True)
class WebUITarget:
    name: str
    url: str
    api_key_env: str
    prune: bool
    timeout: float
    ollama: str | None  # the Ollama target it wraps


def webui_target(name: str, config: OpenWebUITargetConfig, prune: bool) -> WebUITarget:
    return WebUITarget(
        name,
        config.url.rstrip("/"),
        config.api_key_env,
        prune or config.prune,
        config.timeout,
        config.ollama,
    )


def connect(target: WebUITarget, environ: Mapping[str, str], force: bool) -> OpenWebUIServer:
    key = environ.get(target.api_key_env)
    if not key:
        raise ModelopsError(
            f"target '{target.name}' needs an Open WebUI API key in {target.api_key_env} (an "
            "admin's key, made under Settings > Account > API keys)"
        )
    from modelops.targets.openwebui import OpenWebUIServer

    return OpenWebUIServer(target.url, key, timeout=target.timeout, force=force)


def plan_host(
    server: OpenWebUIServer,
    snapshot: Snapshot,
    registry_name: str,
    commit: str | None,
    prune: bool,
    wrapped: Mapping[str, str] | None = None,
    work_tree: bool = False,
) -> HostPlan:
    """The plan for one Open WebUI. `wrapped` maps each model to the Ollama model made for
    it when the target wraps an Ollama target. A name that does not resolve on this server
    fails the whole plan, before anything changes."""
    specs = snapshot.specs()
    try:
        version = server.version()
        directory = server.directory(wanted_kinds(specs))
        avatars = {model_id: avatar_uri(snapshot, spec) for model_id, spec in specs.items()}
        desired, problems = desired_records(specs, avatars, wrapped or {}, directory.ids)
        if problems:
            raise ModelopsError(
                f"the plan for {server.url} cannot be made; on this Open WebUI:\n  "
                + "\n  ".join(problems)
            )
        if wrapped:
            desired.update(hidden_bases(wrapped))
        # the base rows modelops made (to hide wrapped Ollama models) are its too
        live = server.models() + [r for r in server.base_overrides() if marked(r, registry_name)]
    except TargetError as exc:
        return HostPlan(server.url, "", (), error=exc.message, product=PRODUCT)
    planned = plan_webui(server.url, desired, live, registry_name, commit, prune, work_tree)
    applied = {str(r["meta"][MARKER].get("commit")) for r in live if marked(r, registry_name)}
    return HostPlan(
        server.url,
        version,
        tuple(planned.changes),
        warnings=tuple(planned.warnings),
        product=PRODUCT,
        unmanaged=tuple(planned.unmanaged),
        applied=tuple(sorted(applied)),
        seen=stamps(live),
    )


def stamps(live: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Each live model's version and save time, as a saved plan keeps them."""
    return tuple(sorted((str(r.get("id")), "@".join(str(part) for part in seen(r))) for r in live))


def hidden_bases(wrapped: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Rows that hide the wrapped Ollama models from the model selector (the workspace model
    that wraps each one is what users pick)."""
    return {
        name: {
            "id": name,
            "base_model_id": None,
            "name": name,
            "meta": {"hidden": True},
            "params": {},
            "access_grants": [],
            "is_active": True,
        }
        for name in sorted(set(wrapped.values()))
    }
