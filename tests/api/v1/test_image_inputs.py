"""ROBUSTNESS.md rows 35-47: uploads and encoded images for the digits model.

Every bad file gets a 400/413 JSON error naming the problem; odd-but-valid images convert
deterministically (rows 40-42).
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.support.helpers import assert_clean_error, assert_still_serving, digit_png, heldout
from webapp.serving.errors import ServingError
from webapp.serving.inputs.images import _to_gray_or_rgb, decode_image, image_to_example
from webapp.serving.models.spec import ImageInput

PREDICT = "/api/v1/models/digits:predict"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width: int, height: int, idat: bytes = b"", bit_depth: int = 1) -> bytes:
    """A grey PNG whose header claims width x height, with whatever IDAT we choose."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def bomb_png(side: int = 30_000) -> bytes:
    """Row 37's decompression bomb: a 1-bit side x side PNG of zeros, ~110 kB compressed."""
    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    block = row * 1000
    data = b"".join(packer.compress(block) for _ in range(side // 1000)) + packer.flush()
    return crafted_png(side, side, data)


def encoded(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def upload(client, headers, data: bytes, filename: str = "digit.png", mimetype: str = "image/png"):
    return client.post(PREDICT, data={"file": (io.BytesIO(data), filename, mimetype)},
                       headers=headers, content_type="multipart/form-data")


def as_b64(client, headers, data: bytes):
    return client.post(PREDICT, json={"instances": [{"b64": base64.b64encode(data).decode()}]},
                       headers=headers)


@pytest.fixture(scope="module")
def a_digit(demo_store) -> tuple[bytes, int]:
    held = heldout(demo_store, "digits")
    return digit_png(held["x"][3]), held["y"][3]


def _png():
    return encoded(Image.new("L", (16, 16), 255))


BAD_FILES = {
    "text": (b"hello, I am not an image", 400, "not an image"),                      # 35
    "empty": (b"", 400, "empty"),                                                    # 35
    "html-as-png": (b"<html><body><img src=x onerror=alert(1)></body></html>", 400, "not an image"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>', 400, "not an image"),
    "truncated-png": (None, 400, "truncated"),                                       # 36
    "png-signature-only": (b"\x89PNG\r\n\x1a\n", 400, ""),                           # 36
    "jpeg-soi-only": (b"\xff\xd8\xff", 400, ""),                                     # 36
    "eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n", 400, "not an image"),  # 43
    "ico": (None, 400, "not an image"),                                              # 43
    "bomb-30000x30000": (None, (400, 413), ""),                                      # 37
    "100-megapixel": (crafted_png(10_000, 10_000), 413, ""),                         # 38
    "36-megapixel-over-our-cap": (crafted_png(6_000, 6_000), 413, "25,000,000"),     # 38
    "ihdr-2^31": (crafted_png(2**31 - 1, 2**31 - 1), (400, 413), ""),                # 39
    "zero-width": (crafted_png(0, 8), 400, ""),                                      # 39
}


def _bad_file(kind: str) -> bytes:
    data = BAD_FILES[kind][0]
    if data is not None:
        return data
    if kind == "truncated-png":
        full = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)))
        return full[: len(full) // 2]
    if kind == "ico":
        return encoded(Image.new("L", (16, 16)), "ICO")
    return bomb_png()


@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("send", ["multipart", "b64"])
def test_bad_images_are_refused(client, user_headers, kind, send):
    data = _bad_file(kind)
    _, status, words = BAD_FILES[kind]
    send_it = upload if send == "multipart" else as_b64
    response = send_it(client, user_headers, data)
    assert_clean_error(response, status, *([words] if words else []))
    assert_still_serving(client, user_headers)


def test_the_bomb_is_small_on_the_wire_and_refused_before_decoding():
    data = bomb_png()
    assert len(data) < 200_000
    with pytest.raises(ServingError, match="too large|pixels") as caught:
        decode_image(data)
    assert caught.value.status in (400, 413)


@pytest.mark.parametrize(("filename", "mimetype"), [
    ("digit.jpg", "image/jpeg"),            # 47: content sniffed, not the declared type
    ("digit", "application/octet-stream"),
    ("../../../etc/cron.d/evil.png", "image/png"),      # 46
    ("<script>alert(1)</script>.png", "text/html"),     # 46
])
def test_declared_names_and_types_are_ignored(client, user_headers, a_digit, filename, mimetype):
    png, label = a_digit
    response = upload(client, user_headers, png, filename, mimetype)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert int(np.argmax(response.get_json()["predictions"][0])) == label
    text = response.get_data(as_text=True)
    assert "script" not in text
    assert "etc" not in text


def test_multipart_without_a_file_part(client, user_headers):
    """Row 45: only fields, no file."""
    response = client.post(PREDICT, data={"note": "hello"}, headers=user_headers,
                           content_type="multipart/form-data")
    assert_clean_error(response, 400, "no file part")
    assert_still_serving(client, user_headers)


# werkzeug leaves the half-written part's temporary file for the garbage collector (ResourceWarning)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_multipart_with_a_broken_boundary(client, user_headers):
    body = b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\x89PNG"
    response = client.post(PREDICT, data=body, headers=user_headers,
                           content_type="multipart/form-data; boundary=XYZ")
    assert_clean_error(response, (400, 413))
    response = client.post(PREDICT, data=b"anything", headers=user_headers,
                           content_type="multipart/form-data")  # no boundary at all
    assert_clean_error(response, (400, 413))
    assert_still_serving(client, user_headers)


def test_multipart_with_too_many_parts(client, user_headers):
    """Row 45: werkzeug's part limit (1000) answers 413 JSON."""
    parts = b"".join(b"--B\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nx\r\n" % i
                     for i in range(1100))
    response = client.post(PREDICT, data=parts + b"--B--\r\n", headers=user_headers,
                           content_type="multipart/form-data; boundary=B")
    assert_clean_error(response, 413)
    assert_still_serving(client, user_headers)


def test_two_files_make_a_batch_of_two(client, user_headers, demo_store):
    """Row 45: two file parts are two images, answered in order (documented behaviour)."""
    held = heldout(demo_store, "digits")
    files = [(io.BytesIO(digit_png(held["x"][i])), f"{i}.png") for i in (3, 5)]
    response = client.post(PREDICT, data={"file": files}, headers=user_headers,
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert np.argmax(response.get_json()["predictions"], axis=1).tolist() == [held["y"][3], held["y"][5]]


@pytest.mark.parametrize(("instance", "words"), [
    ({"b64": "!!!not base64!!!"}, "base64"),
    ({"b64": "aGVsbG8"}, "base64"),               # bad padding
    ({"b64": 12}, "b64"),
    ({"b64": ["aGk="]}, "b64"),
    ({"b64": "aGk=", "extra": 1}, "b64"),
    ({"b64": None}, "b64"),
    ({"b64": ""}, "empty"),
    ({"image": {"b64": "***"}}, "base64"),
])
def test_invalid_base64_objects(client, user_headers, instance, words):
    """Row 44."""
    response = client.post(PREDICT, json={"instances": [instance]}, headers=user_headers)
    assert_clean_error(response, 400, words)
    response = client.post("/api/v1/models/iris:predict", json={"instances": [instance]},
                           headers=user_headers)
    assert_clean_error(response, 400)
    assert_still_serving(client, user_headers)


def test_b64_bytes_sent_to_a_tabular_model(client, user_headers):
    body = {"instances": [[{"b64": "aGk="}, 1, 2, 3]]}
    assert_clean_error(client.post("/api/v1/models/iris:predict", json=body, headers=user_headers),
                       400, "must be a number")


def test_animated_gif_uses_the_first_frame_and_bmp_works(client, user_headers, a_digit):
    """Row 40."""
    png, label = a_digit
    first = Image.open(io.BytesIO(png)).convert("L")
    other = Image.new("L", first.size, 0)
    gif = encoded(first, "GIF", save_all=True, append_images=[other] * 50, duration=10, loop=0)
    for data in (gif, encoded(first, "BMP"), encoded(first, "WEBP", lossless=True), encoded(first, "TIFF")):
        response = upload(client, user_headers, data)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert int(np.argmax(response.get_json()["predictions"][0])) == label


GREY = ImageInput(height=8, width=8, channels=1, scale=1.0, invert="never", fit="stretch")


@pytest.mark.parametrize(("image", "expected"), [
    (Image.fromarray(np.full((8, 8), 32768, np.uint16)), 128 / 255),     # I;16 scaled, not clipped
    (Image.fromarray(np.full((8, 8), 1000, np.uint16)), 4 / 255),        # I;16 low value stays low
    (Image.new("RGBA", (8, 8), (0, 0, 0, 0)), 1.0),                      # transparent → white
    (Image.new("RGBA", (8, 8), (0, 0, 0, 255)), 0.0),                    # opaque black stays black
    (Image.new("LA", (8, 8), (0, 0)), 1.0),
    (Image.new("1", (8, 8), 1), 1.0),                                    # 1-bit
    (Image.new("CMYK", (8, 8), (0, 0, 0, 0)), 1.0),                      # CMYK white
    (Image.new("CMYK", (8, 8), (0, 0, 0, 255)), 0.0),                    # CMYK black
])
def test_modes_convert_deterministically(image, expected):
    """Row 41: unit tests on the converter."""
    out = image_to_example(GREY, image)
    assert out.shape == (8, 8, 1)
    assert np.allclose(out, expected, atol=1.5 / 255), (image.mode, float(out.mean()))
    assert np.array_equal(out, image_to_example(GREY, image))


def test_palette_with_transparency_composites_on_white():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0] * 256)
    image.info["transparency"] = 0
    assert np.allclose(image_to_example(GREY, image), 1.0)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "JPEG"])
def test_odd_modes_are_answered_through_the_api(client, user_headers, fmt):
    modes = {"PNG": ["I;16", "RGBA", "P", "1", "LA"], "TIFF": ["CMYK", "I;16", "RGB"], "JPEG": ["CMYK", "L"]}
    for mode in modes[fmt]:
        base = Image.new("L", (24, 24), 255)
        base.paste(0, (8, 4, 16, 20))
        image = Image.fromarray(np.asarray(base, np.uint16) * 257) if mode == "I;16" else base.convert(mode)
        response = upload(client, user_headers, encoded(image, fmt))
        assert response.status_code == 200, (fmt, mode, response.get_data(as_text=True))
        assert len(response.get_json()["predictions"][0]) == 10


def test_exif_rotated_jpeg_is_turned_upright_before_resizing():
    """Row 42: a phone stores the sensor image and an Orientation tag; honour the tag."""
    upright = Image.new("L", (40, 20), 255)
    upright.paste(0, (0, 0, 20, 20))  # left half black
    stored = upright.rotate(90, expand=True)  # what the sensor wrote: 20 wide, 40 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encoded(stored, "JPEG", quality=95, exif=exif)
    arr = _to_gray_or_rgb(decode_image(data), 1)
    assert arr.shape == (20, 40)
    assert arr[:, :20].mean() < 40
    assert arr[:, 20:].mean() > 215
