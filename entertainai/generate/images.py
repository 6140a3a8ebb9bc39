"""Image I/O for the image pipelines: data sets in, PNG bytes out.

A data set is ``digits`` (scikit-learn's bundled 8x8 handwritten digits: real, small, no
download), an ``.npz`` array (``images`` (N, H, W[, C]) plus optional ``labels``) or a folder
of PNG/JPG files (sub-folders name the classes). Everything is held as uint8 ``(N, H, W, C)``;
models convert to floats themselves. Bad files fail with an error naming the file.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from entertainai.errors import InputError, NotFoundError
from entertainai.imaging import FILE_MAX_BYTES, decode_image

log = logging.getLogger(__name__)

DIGITS = "digits"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class ImageData:
    """A labelled (or unlabelled) set of same-sized images, uint8 ``(N, H, W, C)``."""

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    source: str

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of every image."""
        _, h, w, c = self.images.shape
        return h, w, c

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray) -> ImageData:
        labels = None if self.labels is None else self.labels[index]
        return ImageData(self.images[index], labels, self.class_names, self.source)

    def split(self, fraction: float, seed: int = 0) -> tuple[ImageData, ImageData]:
        """A seeded random (train, held-out) split; ``fraction`` goes to the held-out part."""
        if not 0.0 < fraction < 1.0:
            raise InputError(f"split fraction must be in (0, 1), got {fraction}")
        order = np.random.default_rng(seed).permutation(len(self))
        n_out = max(1, int(round(len(self) * fraction)))
        return self.subset(np.sort(order[n_out:])), self.subset(np.sort(order[:n_out]))


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` -> float32 ``(N, C, H, W)`` in [-1, 1] (the models' range)."""
    return (images.astype(np.float32).transpose(0, 3, 1, 2) / 127.5) - 1.0


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float ``(N, C, H, W)`` in [-1, 1] -> uint8 ``(N, H, W, C)`` (clipped)."""
    scaled = (np.asarray(images, dtype=np.float32) + 1.0) * 127.5
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


# ---- data sets -------------------------------------------------------------------------------


def load_images(source: str, *, size: int | None = None, channels: int | None = None) -> ImageData:
    """Load ``digits``, an ``.npz`` file or a folder of images; optionally resize to ``size``."""
    if channels not in (None, 1, 3):
        raise InputError(f"channels must be 1 or 3, got {channels}")
    if source == DIGITS:
        data = load_digits()
    else:
        path = Path(source)
        if not path.exists():
            raise NotFoundError(f"{source}: no such image folder or .npz file (or use 'digits')")
        if path.is_dir():
            data = load_folder(path, channels=channels, size=size)
        elif path.suffix == ".npz":
            data = load_npz(path)
        else:
            raise InputError("expected 'digits', a folder of PNG/JPG or an .npz", location=source)
    if channels is not None and data.shape[2] != channels:
        data = ImageData(
            _convert_channels(data.images, channels), data.labels, data.class_names, data.source
        )
    if size is not None and data.shape[:2] != (size, size):
        data = ImageData(resize(data.images, size), data.labels, data.class_names, data.source)
    log.info("loaded %d images %s from %s", len(data), data.shape, data.source)
    return data


def load_digits() -> ImageData:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), pixel values 0..16."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    names = tuple(str(n) for n in bunch.target_names)
    return ImageData(images, bunch.target.astype(np.int64), names, DIGITS)


def load_npz(path: Path) -> ImageData:
    """``images`` (N, H, W) or (N, H, W, C): uint8, or floats in [0, 1]; optional ``labels``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable .npz array file ({exc})", location=str(path)) from None
    if "images" not in arrays:
        raise InputError(f"no 'images' array (has {sorted(arrays)})", location=str(path))
    images = arrays["images"]
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise InputError(
            f"'images' must be (N, H, W) or (N, H, W, 1|3), got {images.shape}", location=str(path)
        )
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating):
            raise InputError(
                f"'images' must be uint8 or float, got {images.dtype}", location=str(path)
            )
        if not np.isfinite(images).all() or images.min() < 0.0 or images.max() > 1.0:
            raise InputError("float 'images' must lie in [0, 1]", location=str(path))
        images = np.rint(images * 255.0).astype(np.uint8)
    labels = None
    names: tuple[str, ...] = ()
    if "labels" in arrays:
        labels = arrays["labels"]
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(
                f"'labels' must be {len(images)} integers, got {labels.dtype} {labels.shape}",
                location=str(path),
            )
        if labels.min() < 0:
            raise InputError("'labels' must be >= 0", location=str(path))
        labels = labels.astype(np.int64)
        names = tuple(str(i) for i in range(int(labels.max()) + 1))
    return ImageData(np.ascontiguousarray(images), labels, names, str(path))


def load_folder(path: Path, *, channels: int | None = None, size: int | None = None) -> ImageData:
    """Every PNG/JPG under ``path``; images in sub-folders are labelled by the sub-folder."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no {'/'.join(IMAGE_SUFFIXES)} files", location=str(path))
    from PIL import Image, UnidentifiedImageError

    decoded = []
    for file in files:
        try:
            with Image.open(file) as img:
                img.load()
                decoded.append(img.copy())
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise InputError(f"cannot read image ({exc})", location=str(file)) from None
    if channels is None:
        channels = 1 if all(img.mode in ("1", "L", "LA", "I", "I;16") for img in decoded) else 3
    mode = "L" if channels == 1 else "RGB"
    arrays: list[np.ndarray] = []
    for file, image in zip(files, decoded, strict=True):
        converted = image.convert(mode)
        if size is not None and converted.size != (size, size):
            converted = converted.resize((size, size), Image.Resampling.BILINEAR)
        array = np.asarray(converted, dtype=np.uint8)
        array = array[..., None] if array.ndim == 2 else array
        if arrays and array.shape != arrays[0].shape:
            raise InputError(
                f"size {array.shape[1]}x{array.shape[0]} differs from the first image's "
                f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; pass a size to resize all",
                location=str(file),
            )
        arrays.append(array)
    parents = [f.parent.relative_to(path) for f in files]
    labels = None
    names: tuple[str, ...] = ()
    if all(str(p) != "." for p in parents):  # every file sits in a class folder
        names = tuple(sorted({p.parts[0] for p in parents}))
        index = {n: i for i, n in enumerate(names)}
        labels = np.array([index[p.parts[0]] for p in parents], dtype=np.int64)
    return ImageData(np.stack(arrays), labels, names, str(path))


def _convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as Pillow
    return np.rint(images.astype(np.float32) @ weights)[..., None].astype(np.uint8)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 ``(N, H, W, C)`` to ``size`` x ``size`` (bilinear)."""
    from PIL import Image

    out = []
    for image in images:
        img = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        array = np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
        out.append(array[..., None] if array.ndim == 2 else array)
    return np.stack(out)


# ---- PNG -------------------------------------------------------------------------------------


def encode_png(image: np.ndarray) -> bytes:
    """uint8 ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` -> PNG bytes."""
    from PIL import Image

    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise InputError(f"PNG encoding needs uint8 pixels, got {array.dtype}")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
        raise InputError(f"cannot encode an image of shape {array.shape} as PNG")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def read_image(path: str | Path, *, mode: str = "RGB") -> np.ndarray:
    """An image file -> uint8 array (errors name the file)."""
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"{file}: no such image file")
    return decode_image(file.read_bytes(), mode=mode, name=str(file), max_bytes=FILE_MAX_BYTES)


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 1) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` -> one ``(H', W', C)`` image, ``nrow`` per row (default ~square)."""
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise InputError(f"a grid needs images (N, H, W, C), got {images.shape}")
    n, h, w, c = images.shape
    cols = nrow or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.zeros(
        (rows * h + (rows + 1) * padding, cols * w + (cols + 1) * padding, c), dtype=images.dtype
    )
    for i, image in enumerate(images):
        r, q = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (8x8 digits are unreadable at their own size)."""
    if factor < 1:
        raise InputError(f"scale must be >= 1, got {factor}")
    return image if factor == 1 else image.repeat(factor, axis=0).repeat(factor, axis=1)
