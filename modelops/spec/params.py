"""The Ollama runtime parameter catalogue: every parameter `/api/create` accepts, its type and
range, the Ollama version that brought it, and the names Ollama has removed.

Ollama stores whatever `/api/create` is given and fails only at inference time, so the
catalogue is checked here, before anything is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from modelops.spec.words import describe, number_text

ParamType = Literal["int", "float", "bool", "str_list"]


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    help: str
    minimum: float | None = None
    maximum: float | None = None
    since: str | None = None  # first Ollama version that knows it


CATALOGUE: dict[str, Param] = {
    p.name: p
    for p in (
        Param("num_ctx", "int", "context window size in tokens", minimum=0),
        Param("repeat_last_n", "int", "how far back to look to prevent repetition", minimum=-1),
        Param("repeat_penalty", "float", "how strongly to penalise repetitions"),
        Param("temperature", "float", "higher answers more creatively", minimum=0),
        Param("seed", "int", "random seed; the same seed and prompt give the same answer"),
        Param("stop", "str_list", "stop sequences; generation ends at any of them"),
        Param("num_predict", "int", "most tokens to generate; -1 for no limit", minimum=-2),
        Param("top_k", "int", "sample from the k most likely tokens", minimum=0),
        Param("top_p", "float", "sample from the smallest set above this probability", 0, 1),
        Param("min_p", "float", "least probability relative to the likeliest token", 0, 1),
        Param("typical_p", "float", "locally typical sampling", 0, 1),
        Param("presence_penalty", "float", "penalise tokens already present"),
        Param("frequency_penalty", "float", "penalise tokens by how often they appeared"),
        Param("num_keep", "int", "tokens to keep from the prompt when the context shifts"),
        Param("num_batch", "int", "prompt processing batch size", minimum=1),
        Param("num_gpu", "int", "layers to offload to the GPU; -1 for automatic"),
        Param("main_gpu", "int", "GPU for small tensors", minimum=0),
        Param("use_mmap", "bool", "memory-map the weights"),
        Param("num_thread", "int", "CPU threads; 0 for automatic", minimum=0),
        Param("draft_num_predict", "int", "draft tokens per step", minimum=0, since="0.30.0"),
    )
}

# Names Ollama once knew, with the version that removed them.
REMOVED: dict[str, str] = {
    "mirostat": "0.7.0",
    "mirostat_tau": "0.7.0",
    "mirostat_eta": "0.7.0",
    "low_vram": "0.7.0",
    "f16_kv": "0.7.0",
    "logits_all": "0.7.0",
    "vocab_only": "0.7.0",
    "use_mlock": "0.7.0",
    "penalize_newline": "0.5.5",
    "tfs_z": "0.5.2",
    "numa": "0.3.4",
}

# Ollama decodes options into Go's int (64 bits) and float32: anything wider fails there, at
# inference time, long after the model was created.
INT_RANGE = (-(2**63), 2**63 - 1)
FLOAT_MAX = 3.4028234663852886e38

TYPE_WORDS: dict[ParamType, str] = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str_list": "a list of strings",
}


def version_tuple(text: str) -> tuple[int, ...]:
    """`0.12.6-rc1` -> (0, 12, 6); unreadable versions sort first."""
    core = text.split("-", maxsplit=1)[0].split("+", maxsplit=1)[0]
    try:
        return tuple(int(p) for p in core.split(".")[:3])
    except ValueError:
        return (0,)


def too_new(name: str, server_version: str) -> str | None:
    """The version that brought parameter `name`, when the server is older than it."""
    since = CATALOGUE[name].since if name in CATALOGUE else None
    if since and version_tuple(server_version) < version_tuple(since):
        return since
    return None


def type_error(param: Param, value: object) -> str | None:
    """Why `value` does not fit `param`, or None when it does."""
    kind = param.type
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str_list":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, int if kind == "int" else int | float)
        ok = ok and not isinstance(value, bool)
    if not ok:
        hint = ' (write it as a list: stop: ["###"])' if param.type == "str_list" else ""
        return f"expected {TYPE_WORDS[param.type]}, got {describe(value)}{hint}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if why := number_error(param.type, value):
            return why
        if param.minimum is not None and value < param.minimum:
            return f"must be at least {param.minimum:g}, got {number_text(value)}"
        if param.maximum is not None and value > param.maximum:
            return f"must be at most {param.maximum:g}, got {number_text(value)}"
    return None


def number_error(kind: ParamType, value: float) -> str | None:
    """Why a number cannot reach Ollama: not finite, or wider than the Go type it decodes to."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {number_text(value)}"
    if kind == "int" and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return (
            "must be between -2^63 and 2^63-1 (Ollama stores it in 64 bits), "
            f"got {number_text(value)}"
        )
    if kind == "float" and abs(value) > FLOAT_MAX:
        return (
            f"must be between -3.4e+38 and 3.4e+38 (Ollama stores it as a 32-bit float), "
            f"got {number_text(value)}"
        )
    return None


def ordered_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters in catalogue order (unknown names last), as a model file lists them."""
    order = {name: i for i, name in enumerate(CATALOGUE)}
    return dict(sorted(params.items(), key=lambda kv: order.get(kv[0], len(order))))
