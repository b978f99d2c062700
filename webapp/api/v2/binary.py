"""The binary tensor data extension's framing: body → (JSON header, raw tensors) and back.

A request body is a JSON object followed by raw tensors in the order the inputs appear;
`Inference-Header-Content-Length` says where the JSON ends. Every malformed frame raises
InvalidInput naming the problem, before anything big is allocated.
"""

from __future__ import annotations

import gzip
import struct
import zlib

import numpy as np

from webapp.serving.errors import InvalidInput, PayloadTooLarge, ServingError

HEADER = "Inference-Header-Content-Length"
_LEN = struct.Struct("<I")


class UnsupportedEncoding(ServingError):
    """A Content-Encoding other than gzip, deflate or identity."""

    status = 415
    code = "UNIMPLEMENTED"


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo a request's Content-Encoding, refusing to inflate past `limit` bytes (gzip bombs)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedEncoding(f"Content-Encoding {encoding[:40]!r} is not supported; "
                                  "use gzip, deflate or none")
    # gzip: header + deflate; deflate: zlib-wrapped as HTTP means it, raw deflate tolerated
    attempts = (31,) if encoding == "gzip" else (15, -15)
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"The decompressed body is larger than {limit} bytes")
        if not inflater.eof:
            raise InvalidInput(f"The {encoding} body is truncated")
        return out
    raise InvalidInput(f"The body is not valid {encoding} data")


def compress(body: bytes, encoding: str) -> bytes:
    """A response body in the encoding the client accepts (fast level: bandwidth, not archives)."""
    return gzip.compress(body, compresslevel=1) if encoding == "gzip" else zlib.compress(body, 1)


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    """(JSON part, binary part) of a request body, per Inference-Header-Content-Length."""
    if header_length is None:
        return body, memoryview(b"")
    text = header_length.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInput(f"{HEADER} must be a non-negative integer, got {header_length[:40]!r}")
    length = int(text)
    if length == 0:
        raise InvalidInput(f"{HEADER} is 0; the JSON header cannot be empty")
    if length > len(body):
        raise InvalidInput(f"{HEADER} is {length} but the body has only {len(body)} bytes")
    view = memoryview(body)
    return body[:length], view[length:]


class BinarySection:
    """Hands out consecutive slices of the binary part, one per input that declares a size."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.offset = 0

    def take(self, name: str, size: object) -> memoryview:
        if type(size) is not int or size < 0:
            raise InvalidInput(f"Input '{name}': binary_data_size must be a non-negative integer")
        end = self.offset + size
        if end > len(self.data):
            raise InvalidInput(f"Input '{name}': binary_data_size is {size} but only "
                               f"{len(self.data) - self.offset} bytes of binary data are left")
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    def finish(self) -> None:
        left = len(self.data) - self.offset
        if left:
            raise InvalidInput(f"{left} bytes of binary data follow the last input that uses them")


def fixed_tensor(name: str, chunk: memoryview, dtype: np.dtype, count: int) -> np.ndarray:
    """A fixed-size tensor from raw little-endian bytes, without a copy."""
    expected = count * dtype.itemsize
    if len(chunk) != expected:
        raise InvalidInput(f"Input '{name}': binary_data_size is {len(chunk)} bytes but the shape "
                           f"needs {count} x {dtype.itemsize} = {expected}")
    return np.frombuffer(chunk, dtype=dtype, count=count)


def bytes_tensor(name: str, chunk: memoryview, count: int) -> list[bytes]:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes."""
    out: list[bytes] = []
    offset, end = 0, len(chunk)
    while offset < end:
        if offset + 4 > end:
            raise InvalidInput(f"Input '{name}': a BYTES length prefix is cut off at byte {offset}")
        (size,) = _LEN.unpack_from(chunk, offset)
        offset += 4
        if offset + size > end:
            raise InvalidInput(f"Input '{name}': BYTES element {len(out)} claims {size} bytes but "
                               f"only {end - offset} remain")
        out.append(bytes(chunk[offset:offset + size]))
        offset += size
        if len(out) > count:
            break
    if len(out) != count:
        raise InvalidInput(f"Input '{name}': the binary data holds {len(out)}"
                           f"{'+' if len(out) > count else ''} BYTES elements; the shape says {count}")
    return out


def serialize_bytes(items: list[bytes]) -> bytes:
    """BYTES elements in the wire form: length-prefixed, concatenated."""
    return b"".join(_LEN.pack(len(b)) + b for b in items)
