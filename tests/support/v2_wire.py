"""Build and read Open Inference Protocol bodies by hand (JSON, binary framing), for the v2 tests."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import numpy as np
from PIL import Image

HEADER = "Inference-Header-Content-Length"


def tensor(name: str, array: np.ndarray, datatype: str = "FP32") -> dict[str, Any]:
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": array.tolist()}


def binary_body(doc: dict[str, Any], raws: list[bytes]) -> tuple[bytes, dict[str, str]]:
    """A binary-extension request body and its header, as tritonclient frames it."""
    head = json.dumps(doc).encode()
    return head + b"".join(raws), {HEADER: str(len(head))}


def serialize_bytes(items: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(b)) + b for b in items)


def deserialize_bytes(raw: bytes) -> list[bytes]:
    out, offset = [], 0
    while offset < len(raw):
        (size,) = struct.unpack_from("<I", raw, offset)
        out.append(raw[offset + 4:offset + 4 + size])
        offset += 4 + size
    return out


def read_response(body: bytes, header: str | None) -> dict[str, Any]:
    """A response as {output name: numpy array or list of bytes/str}, binary parts decoded."""
    length = int(header) if header else len(body)
    doc = json.loads(body[:length])
    offset, outputs = length, {}
    for out in doc["outputs"]:
        size = (out.get("parameters") or {}).get("binary_data_size")
        if size is None:
            data = out["data"]
            outputs[out["name"]] = (np.array(data, dtype=np.float32).reshape(out["shape"])
                                    if out["datatype"] == "FP32" else data)
            continue
        raw = body[offset:offset + size]
        offset += size
        outputs[out["name"]] = (deserialize_bytes(raw) if out["datatype"] == "BYTES"
                                else np.frombuffer(raw, "<f4").reshape(out["shape"]))
    assert offset == len(body), "trailing bytes in the response"
    doc["decoded"] = outputs
    return doc


def digit_png(pixels: np.ndarray) -> bytes:
    """An 8x8 digit (ink 0-16 on dark) as a PNG, upscaled 4x like a small scan."""
    grey = (np.asarray(pixels, dtype=np.float64).reshape(8, 8) * 255 / 16).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((32, 32), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
