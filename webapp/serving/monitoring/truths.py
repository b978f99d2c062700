"""What people send as ground truth, as (request id, truth) pairs for `Feedback.record`.

JSON, the same on both APIs: `{"request_id": "...", "truth": ...}` for one, or
`{"truths": [{"request_id": "...", "truth": ...}, ...]}` for many (a truth is a label, a number,
or a list of them for a request that predicted several rows). CSV (the model page's upload and
the CLI): a header naming `request_id` and `truth`, one row per request. Everything else is an
InvalidInput that names the problem.
"""

from __future__ import annotations

import csv
import io
from typing import IO, Any

from webapp.serving.errors import InvalidInput, PayloadTooLarge

from .feedback import MAX_ITEMS, Text

ONE_KEYS = {"request_id", "truth"}


def _pair(item: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} must be an object with 'request_id' and 'truth'")
    missing = sorted(ONE_KEYS - set(item))
    if missing:
        raise InvalidInput(f"{where} lacks {missing[0]!r}")
    unknown = sorted(set(item) - ONE_KEYS)
    if unknown:
        raise InvalidInput(f"{where} has an unknown key {unknown[0]!r}")
    return item["request_id"], item["truth"]


def from_json(doc: Any) -> list[tuple[Any, Any]]:
    """Pairs from a parsed JSON body; raises InvalidInput (PayloadTooLarge for too many)."""
    if not isinstance(doc, dict):
        raise InvalidInput('The body must be a JSON object: {"request_id": ..., "truth": ...} '
                           'or {"truths": [...]}')
    if "truths" not in doc:
        return [_pair(doc, "The body")]
    if set(doc) != {"truths"}:
        raise InvalidInput("Send either 'truths' or one 'request_id' with its 'truth', not both")
    items = doc["truths"]
    if not isinstance(items, list) or not items:
        raise InvalidInput("'truths' must be a non-empty list")
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(f"At most {MAX_ITEMS} truths at once, got {len(items)}")
    return [_pair(item, f"truths[{i}]") for i, item in enumerate(items)]


def from_csv(stream: IO[bytes], limit: int = MAX_ITEMS) -> list[tuple[str, str]]:
    """Pairs from a CSV file with `request_id` and `truth` columns (any order, others ignored).

    Truths stay text (`Text`): a classifier reads a label, a regressor a number.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        return _pairs(csv.reader(text), limit)
    except UnicodeDecodeError:
        raise InvalidInput("The CSV file is not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise InvalidInput(f"The CSV file cannot be read: {exc}") from None
    finally:
        text.detach()  # the caller owns the stream: leave it open


def _pairs(reader: Any, limit: int) -> list[tuple[str, str]]:
    header = [h.strip() for h in next(reader, [])]
    if "request_id" not in header or "truth" not in header:
        raise InvalidInput("The CSV file needs a header row naming 'request_id' and 'truth'")
    rid, truth = header.index("request_id"), header.index("truth")
    pairs = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(pairs) >= limit:
            raise PayloadTooLarge(f"At most {limit} truths at once")
        if max(rid, truth) >= len(row):
            raise InvalidInput(f"Line {reader.line_num}: the row has too few cells")
        pairs.append((row[rid].strip(), Text(row[truth].strip())))
    if not pairs:
        raise InvalidInput("The CSV file has no truths: add rows under the header")
    return pairs
