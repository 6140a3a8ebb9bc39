"""The one image decoder: PNG/JPEG bytes to uint8 pixels, with byte and pixel caps.

Every place that turns untrusted bytes into pixels (image moderation, style transfer uploads,
image files on the command line) goes through :func:`decode_image`, so the caps that stop a
small upload from expanding into gigabytes of pixels are enforced in one place.
"""

from __future__ import annotations

import io

import numpy as np

from entertainai.errors import InputError, LimitExceeded

# A 4 MB file is far above any upload the HTTP API accepts and below what a bomb needs.
DEFAULT_MAX_BYTES = 4_000_000
# 16.7 megapixels (67 MB as RGB): refuses a 40-megapixel image before its pixels are decoded.
DEFAULT_MAX_PIXELS = 4096 * 4096
# Files an operator points at (training folders, CLI inputs) may be large camera photos; the
# pixel cap still bounds the memory they cost.
FILE_MAX_BYTES = 1 << 30


def decode_image(
    data: bytes,
    *,
    mode: str = "RGB",
    name: str = "image",
    size: tuple[int, int] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """PNG/JPEG (any format Pillow reads) bytes -> uint8 ``(H, W, 3)`` (``mode="RGB"``) or ``(H, W)`` (``"L"``).

    ``size`` (width, height) resizes bilinearly after decoding. The byte cap is checked before
    parsing and the pixel cap from the header, before the pixels are decoded, so an upload
    cannot make the process allocate more than ``max_pixels`` pixels. Over a cap:
    :class:`LimitExceeded`; unreadable: :class:`InputError`, both naming ``name``.
    """
    from PIL import Image, UnidentifiedImageError

    unreadable = (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError)
    if len(data) > max_bytes:
        raise LimitExceeded(f"{len(data)} bytes is over the {max_bytes}-byte limit", location=name)
    if not data:
        raise InputError("empty image", location=name)
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        # Pillow's own text names our in-memory buffer ("<_io.BytesIO object at 0x...>").
        raise InputError(
            "not a readable image (not PNG, JPEG or another known format)", location=name
        ) from None
    except (*unreadable, ValueError) as exc:
        raise InputError(f"not a readable image ({exc})", location=name) from None
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise LimitExceeded(
                f"{width}x{height} is over the {max_pixels}-pixel limit", location=name
            )
        try:
            img.load()
            converted = img.convert(mode)
            if size is not None and converted.size != size:
                converted = converted.resize(size, Image.Resampling.BILINEAR)
        except (*unreadable, ValueError) as exc:  # truncated data, a bad palette, ...
            raise InputError(f"not a readable image ({exc})", location=name) from None
    return np.asarray(converted, dtype=np.uint8).copy()
