"""Avatar images: data URIs in, checked image files out. Pillow does the checking, so a file
that merely starts like a PNG is not taken for one."""

from __future__ import annotations

import base64
import binascii
import io
import re

MAX_AVATAR_BYTES = 256 * 1024
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
MIME = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[\w.-]+)*)(;base64)?,", re.I)


class ImageError(ValueError):
    """Why an avatar cannot be used."""


def decode_data_uri(uri: str, limit: int = MAX_AVATAR_BYTES) -> bytes:
    match = _DATA_URI.match(uri)
    if not match or not match.group(3):
        raise ImageError("not a base64 data URI")
    mime = (match.group(1) or "").lower()
    if "svg" in mime:
        raise ImageError("SVG avatars are refused (they can carry scripts); convert it to PNG")
    payload = uri[match.end() :]
    if len(payload) * 3 // 4 > limit:
        raise ImageError(
            f"the image is {_size(len(payload) * 3 // 4)}; the limit is {_size(limit)} "
            "(shrink it, or raise --avatar-limit)"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("the data URI is not valid base64") from None


def check_image(data: bytes, limit: int = MAX_AVATAR_BYTES) -> str:
    """The file extension for a PNG, JPEG, GIF or WebP image; anything else is refused."""
    if len(data) > limit:
        raise ImageError(f"the image is {_size(len(data))}; the limit is {_size(limit)}")
    if data.lstrip()[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in data[:256].lower():
        raise ImageError("SVG avatars are refused (they can carry scripts); convert it to PNG")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageError("not a PNG, JPEG, GIF or WebP image") from None
    if kind not in EXTENSIONS:
        raise ImageError(f"{kind or 'this'} images are not accepted (use PNG, JPEG, GIF or WebP)")
    return EXTENSIONS[kind]


def data_uri(data: bytes, extension: str) -> str:
    return f"data:{MIME[extension]};base64,{base64.b64encode(data).decode()}"


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    return f"{count / 1024:.0f} KiB"
