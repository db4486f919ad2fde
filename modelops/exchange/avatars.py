"""Avatars as Open WebUI carries them: base64 data URIs, decoded with a size bound checked
before anything is allocated. Pure."""

from __future__ import annotations

import base64
import binascii
import re

from modelops.spec.avatar import AVATAR_MAX_BYTES, ImageError, size_text

_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[\w.-]+)*)(;base64)?,", re.I)


def decode_data_uri(uri: str, limit: int = AVATAR_MAX_BYTES) -> bytes:
    match = _DATA_URI.match(uri)
    if not match or not match.group(3):
        raise ImageError("not a base64 data URI")
    mime = (match.group(1) or "").lower()
    if "svg" in mime:
        raise ImageError("SVG avatars are refused (they can carry scripts); convert it to PNG")
    payload = uri[match.end() :]
    if len(payload) * 3 // 4 > limit:
        raise ImageError(
            f"the image is {size_text(len(payload) * 3 // 4)}; the limit is {size_text(limit)} "
            "(shrink it)"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("the data URI is not valid base64") from None
