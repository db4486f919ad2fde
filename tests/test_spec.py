"""The model spec on its own: checks, messages, canonical data. No files involved."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from modelops.errors import UsageError
from modelops.registry.authoring import parse_assignment, parse_key
from modelops.spec import avatar, inherit, layout, relations
from modelops.spec.avatar import avatar_problem
from modelops.spec.checks import check_model


def problems(data: Any) -> list[tuple[str, str]]:
    model, found = check_model(data)
    assert (model is None) == bool(found)
    return [(".".join(map(str, loc)), message) for loc, message in found]


BASE = {"version": 1, "id": "m", "base": "mistral"}


def test_a_minimal_model_is_valid_and_dumps_only_what_is_set():
    model, found = check_model(dict(BASE))
    assert not found and model is not None
    assert model.to_data() == BASE


def test_parameters_are_dumped_in_catalogue_order():
    model, _ = check_model({**BASE, "parameters": {"stop": ["x"], "num_ctx": 1}})
    assert model is not None
    assert list(model.to_data()["parameters"]) == ["num_ctx", "stop"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"parameters": {"temperature": 1}}, []),  # an integer is a fine number
        ({"parameters": {"seed": 1.0}}, [("parameters.seed", "expected an integer, got number 1.0")]),
        ({"parameters": {"use_mmap": 1}}, [("parameters.use_mmap", "expected true or false, got number 1")]),
        ({"parameters": {"num_ctx": True}}, [("parameters.num_ctx", "expected an integer, got boolean true")]),
        ({"parameters": {"stop": ["a", 1]}}, [("parameters.stop", "expected a list of strings, got a list (write it as a list: stop: [\"###\"])")]),
        ({"parameters": []}, [("parameters", "expected a mapping, got a list")]),
        ({"tags": ["a", ""]}, [("tags.1", "must not be empty (remove the key to leave it unset)")]),
        ({"license": ["MIT", "CC"]}, []),
        ({"license": 3}, [("license", "expected a string, got number 3 (quote it: '3')")]),
        ({"access": {"public": True, "read": {"groups": ["a"]}}}, []),
        ({"access": {"write": {"teams": ["a"]}}}, [("access.write.teams", "unknown key (expected groups or users)")]),
        ({"openwebui": {"params": {"keep_alive": None}}}, []),  # verbatim: nulls allowed
        ({"openwebui": {"meta": {"chat_variables_schema": {}}}}, [("openwebui.meta.chat_variables_schema", "managed by modelops (Open WebUI computes it; remove it)")]),
        ({"openwebui": {"params": {"max_tokens": 5}}}, [("openwebui.params.max_tokens", "managed by modelops (set 'parameters.num_predict' instead)")]),
    ],
)  # fmt: skip
def test_field_checks(extra: dict[str, Any], expected: list[tuple[str, str]]):
    assert problems({**BASE, **extra}) == expected


def test_all_problems_at_once():
    found = problems({"version": 1, "id": "Bad", "sytem": "x", "parameters": {"mirostat": 1}})
    assert found == [
        ("parameters.mirostat", "removed in Ollama 0.7.0 (delete it)"),
        ("id", "'Bad' is not a valid id (use lowercase letters, digits, '.', '_' and '-', "
               "starting with a letter or digit, at most 80 characters)"),
        ("base", "required key is missing"),
        ("sytem", "unknown key (did you mean 'system'?)"),
    ]  # fmt: skip


def test_changed_keys():
    old = {"a": 1, "p": {"t": 0.1, "k": 2}, "gone": 1}
    new = {"a": 1, "p": {"t": 0.2, "k": 2}, "added": [1]}
    assert layout.changed_keys(old, new) == ["p.t", "gone", "added"]


def test_cycles_are_found_once_per_ring():
    pairs = [("a", "b"), ("b", "a"), ("c", "a"), ("d", "llama3.2")]
    models = {
        m: relations.Placed(m, b, f"models/{m}.yaml", f"models/{m}.yaml", {"base": (3, 1)})
        for m, b in pairs
    }
    found = relations.check_bases(models)
    assert sorted(p.path for p in found) == ["models/a.yaml", "models/b.yaml"]
    specs = {m: check_model({"version": 1, "id": m, "base": b})[0] for m, b in pairs}
    assert inherit.base_chain({k: v for k, v in specs.items() if k in "cd" and v}, "c") == [
        "c",
        "a",
    ]


@pytest.mark.parametrize(
    ("text", "loc", "value"),
    [
        ("parameters.temperature=0.3", ("parameters", "temperature"), 0.3),
        ("name=2024", ("name",), "2024"),
        ("system=a: b", ("system",), "a: b"),
        ("tags=[a, b]", ("tags",), ["a", "b"]),
        ("suggestions.0.prompt=yes", ("suggestions", 0, "prompt"), "yes"),
        ("capabilities.vision=true", ("capabilities", "vision"), True),
        ("openwebui.params.keep_alive=10m", ("openwebui", "params", "keep_alive"), "10m"),
        ("description=", ("description",), ""),
    ],
)
def test_assignments_are_typed_by_the_field(text: str, loc: tuple[Any, ...], value: Any):
    assert parse_assignment(text) == (loc, value)


@pytest.mark.parametrize("key", ["", "a..b", "0.x", "nope", "id", "version"])
def test_bad_keys(key: str):
    with pytest.raises(UsageError):
        parse_key(key)


def _image(kind: str, size: tuple[int, int] = (4, 4)) -> bytes:
    """A real image, made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("avatar", "content", "message"),
    [
        ("https://example.com/a.png", None, None),
        ("avatars/a.png", _image("PNG"), None),
        ("avatars/a.jpg", _image("JPEG"), None),
        ("avatars/a.webp", _image("WEBP"), None),
        ("avatars/a.png", _image("GIF"), "holds a GIF image (rename it to .gif)"),
        ("avatars/a.png", _image("PNG")[:-20], "is not a PNG, JPEG, GIF or WebP image"),
        ("avatars/a.jpg", _image("JPEG", (64, 64))[:-200], "is not a PNG, JPEG, GIF or WebP image"),
        ("avatars/a.png", b"\x89PNG\r\n\x1a\n....", "is not a PNG, JPEG, GIF or WebP image"),
        ("avatars/a.png", _image("PNG", (5000, 4000)), "the image is 5000x4000 pixels"),
        ("avatars/a.png", b"<svg/>", "SVG images are refused"),
        ("avatars/a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 300_000, "avatars are limited to 256 KiB"),
        ("../outside.png", None, "must be a path inside the registry"),
        ("/etc/a.png", None, "must be a path inside the registry"),
        ("javascript:alert(1)", None, "javascript: avatars are not allowed"),
        ("http://example.com/a.png", None, "http: avatars are not allowed"),
    ],
)
def test_avatar_checks(avatar: str, content: bytes | None, message: str | None):
    found = avatar_problem(avatar, content)
    assert (found is None) if message is None else (message in (found or ""))


def test_an_image_is_decoded_once_and_its_verdict_kept(monkeypatch):
    """An import checks each avatar twice and models share images: the decoding, which is
    the cost, happens once per content; the verdict, good or bad, is the same both times."""
    opened: list[bytes] = []
    real_open = Image.open

    def counting_open(stream: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(stream.getvalue())
        return real_open(stream, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    monkeypatch.setattr(avatar, "_VERDICTS", {})
    good, damaged = _image("PNG", (7, 3)), _image("PNG", (7, 3))[:-20]
    for _ in range(3):
        assert avatar.check_image(good) == "png"
        with pytest.raises(avatar.ImageError, match="not a PNG, JPEG, GIF or WebP"):
            avatar.check_image(damaged)
    assert opened.count(good) == 2  # verify, then load, on the first check only
    assert opened.count(damaged) in (1, 2)
    assert len(opened) == opened.count(good) + opened.count(damaged)
    with pytest.raises(avatar.ImageError, match="the limit is 1 KiB"):
        avatar.check_image(good + b"x" * 2048, limit=1024)  # the limit is the caller's: not kept
    monkeypatch.setattr(avatar, "VERDICTS_KEPT", 1)
    avatar.check_image(_image("GIF"))  # a full memory starts again, bounded
    assert len(avatar._VERDICTS) == 1
