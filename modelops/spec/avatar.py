"""Avatar images: which references a model file may hold, and the one check of an image's
bytes. The image is decoded with Pillow, so a truncated file, or one that merely starts like a
PNG, is refused before anything exports or applies it; SVG (which can carry scripts) and
decompression bombs are refused too. Pure: the caller reads the bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from pathlib import PurePosixPath

AVATAR_MAX_BYTES = 256 * 1024
MAX_PIXELS = 4096 * 4096  # a 256 KiB PNG can claim billions of pixels; an avatar needs few
SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp"}  # format -> suffix
MIME = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


class ImageError(ValueError):
    """Why an image cannot be used."""


def check_image(data: bytes, limit: int = AVATAR_MAX_BYTES) -> str:
    """The format of a PNG, JPEG, GIF or WebP image (`png`, `jpeg`, `gif`, `webp`), decoded in
    full; anything else raises ImageError with the reason."""
    if len(data) > limit:
        raise ImageError(f"the image is {size_text(len(data))}; the limit is {size_text(limit)}")
    key = hashlib.sha256(data).digest()
    if key not in _VERDICTS:
        if len(_VERDICTS) >= VERDICTS_KEPT:
            _VERDICTS.clear()
        try:
            _VERDICTS[key] = (_decoded(data), "")
        except ImageError as exc:
            _VERDICTS[key] = ("", str(exc))
    kind, why = _VERDICTS[key]
    if why:
        raise ImageError(why)
    return kind


# Verdicts by the image's digest: an import checks each avatar as it converts the entry and
# again with the registry it makes, and many models share one image. Decoding is the cost.
VERDICTS_KEPT = 4096
_VERDICTS: dict[bytes, tuple[str, str]] = {}


def _decoded(data: bytes) -> str:
    head = data.lstrip()[:256].lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        raise ImageError("SVG images are refused (they can carry scripts); convert it to PNG")
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns past its own limit (and refuses past twice that); ours is lower
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = (image.format or "").lower()
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        f"the image is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels"
                    )
                image.verify()  # the container: chunks, checksums, a missing end
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # every pixel: a truncated or corrupt stream fails here
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(
            f"the image claims more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels; the "
            f"limit is {MAX_PIXELS:,} pixels"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageError("not a PNG, JPEG, GIF or WebP image (or a damaged one)") from None
    if kind not in MIME:
        raise ImageError(
            f"{kind.upper() or 'this'} images are not accepted (use PNG, JPEG, GIF or WebP)"
        )
    return kind


def dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height as the image's header gives them, without decoding the pixels (and
    without Pillow's warning about large ones); None when it is not an image Pillow reads."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                return width, height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None  # an unreadable image is check_image's error


def avatar_problem(avatar: str, content: bytes | None) -> str | None:
    """Why a model's `avatar` is unusable, or None. `content` is the file's bytes, if any."""
    if avatar.startswith("https://"):
        return None
    if avatar.startswith(("http://", "data:", "javascript:", "file:")):
        scheme = avatar.split(":", 1)[0]
        return f"{scheme}: avatars are not allowed (use an image file in avatars/ or an https URL)"
    path = PurePosixPath(avatar)
    if path.is_absolute() or ".." in path.parts or path.parts[:1] == (".git",):
        return "must be a path inside the registry, such as avatars/faq.png"
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        return f"'{path.suffix or avatar}' is not an avatar type (use .png, .jpg, .gif or .webp)"
    if content is None:
        return f"file '{avatar}' does not exist in the registry"
    if len(content) > AVATAR_MAX_BYTES:
        return (
            f"file is {len(content) // 1024} KiB; avatars are limited to "
            f"{AVATAR_MAX_BYTES // 1024} KiB (shrink it)"
        )
    try:
        found = check_image(content)
    except ImageError as exc:
        return f"file '{avatar}' is {exc}" if str(exc).startswith("not ") else f"{avatar}: {exc}"
    if found != kind:
        return f"file '{avatar}' holds a {found.upper()} image (rename it to .{EXTENSIONS[found]})"
    return None


def data_uri(data: bytes, kind: str) -> str:
    """A data URI of a checked image of format `kind` (png, jpeg, gif, webp)."""
    return f"data:{MIME[kind]};base64,{base64.b64encode(data).decode()}"


def size_text(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    return f"{count / 1024:.0f} KiB"
