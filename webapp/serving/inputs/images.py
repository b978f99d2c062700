"""Encoded images (PNG, JPEG, ...) → the model's float32 batch, safely: formats allowlisted, pixels
capped before decoding, bombs refused; any mode normalised as the manifest describes.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from webapp.serving.errors import InvalidInput, PayloadTooLarge
from webapp.serving.models.spec import ImageInput, ModelSpec

IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
DEFAULT_MAX_PIXELS = 25_000_000


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open and fully decode an encoded image, refusing bombs, oversize and non-images."""
    if not data:
        raise InvalidInput("The image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InvalidInput("The image has no pixels")
            if width * height > max_pixels:
                raise PayloadTooLarge(f"The image is {width}x{height} pixels; the limit is "
                                      f"{max_pixels:,} pixels")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"The image is too large to decode safely: {exc}") from None
    except UnidentifiedImageError:
        raise InvalidInput("The file is not an image Podium can read (PNG, JPEG, GIF, BMP, "
                           "WebP or TIFF)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidInput(f"The image is corrupt or truncated ({exc})") from None
    return image


def _to_gray_or_rgb(image: Image.Image, channels: int) -> np.ndarray:
    """Normalise any mode (16-bit, alpha, palette, CMYK, 1-bit) to 8-bit L or RGB as floats."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = np.clip(arr / top * 255.0, 0, 255)
        return np.repeat(gray[..., None], channels, axis=-1) if channels == 3 else gray
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("L" if channels == 1 else "RGB")
    return np.asarray(image, dtype=np.float64)


def _crop_to_ink(gray: np.ndarray) -> np.ndarray:
    """Crop to the bounding box of the ink (high values) and pad it to a centred square."""
    mask = gray > gray.max(initial=0) * 0.25
    if not mask.any():
        return gray
    rows, cols = np.where(mask.any(axis=1))[0], np.where(mask.any(axis=0))[0]
    ink = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    side = max(ink.shape[:2])
    pad_y, pad_x = side - ink.shape[0], side - ink.shape[1]
    widths = [(pad_y // 2, pad_y - pad_y // 2), (pad_x // 2, pad_x - pad_x // 2)]
    widths += [(0, 0)] * (ink.ndim - 2)
    return np.pad(ink, widths)


def image_to_example(spec: ImageInput, image: Image.Image) -> np.ndarray:
    """One decoded image → float32 [h, w, c] as the manifest describes."""
    arr = _to_gray_or_rgb(image, spec.channels)
    light_background = math.isfinite(arr.mean()) and _border_mean(arr) > 127
    if spec.invert == "always" or (spec.invert == "auto" and light_background):
        arr = 255.0 - arr
    if spec.fit == "bbox":
        arr = _crop_to_ink(arr)
        peak = arr.max(initial=0)
        if peak > 0:
            arr = arr * (255.0 / peak)
    mode = "L" if spec.channels == 1 else "RGB"
    resized = Image.fromarray(arr.astype(np.uint8), mode=mode).resize(
        (spec.width, spec.height), Image.Resampling.BOX if spec.fit == "bbox" else Image.Resampling.BILINEAR
    )
    out = np.asarray(resized, dtype=np.float32) * np.float32(spec.scale / 255.0)
    return out.reshape(spec.height, spec.width, spec.channels)


def _border_mean(arr: np.ndarray) -> float:
    edges = [arr[0], arr[-1], arr[:, 0], arr[:, -1]]
    return float(np.mean([e.mean() for e in edges]))


def images_to_batch(spec: ModelSpec, images: list[bytes], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded images → float32 [n, h, w, c]; raises InvalidInput naming the bad item."""
    if spec.image is None:
        raise InvalidInput(f"{spec.name} takes {spec.describe_input()}, not images")
    examples = []
    for i, data in enumerate(images):
        try:
            examples.append(image_to_example(spec.image, decode_image(data, max_pixels)))
        except (InvalidInput, PayloadTooLarge) as exc:
            prefix = f"Image {i}: " if len(images) > 1 else ""
            raise type(exc)(prefix + exc.message) from None
    return np.stack(examples) if examples else np.empty((0, *spec.input_shape), np.float32)


def example_png(spec: ImageInput, example: np.ndarray) -> bytes:
    """One preprocessed example (float32 [h, w, c], 0..scale) → PNG bytes, to show what the model saw."""
    top = spec.scale if spec.scale > 0 else 1.0
    pixels = np.clip(np.asarray(example, dtype=np.float64) / top * 255.0, 0, 255).astype(np.uint8)
    if spec.channels == 1:
        image = Image.fromarray(pixels.reshape(spec.height, spec.width), mode="L")
    else:
        image = Image.fromarray(pixels.reshape(spec.height, spec.width, 3), mode="RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
