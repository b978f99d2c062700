"""One error hierarchy for the serving core: plain messages, and the status class a protocol maps.

The core speaks no protocol: a message here says what went wrong in plain words. Each surface
words it its own way where its clients expect a fixed text (`/api/v1` writes TF Serving's
"Servable not found ..."; the pages write a friendly sentence) and renders the status.
"""

from __future__ import annotations


class ServingError(Exception):
    """Base class: a message meant for the caller and an HTTP-ish status."""

    status: int = 500
    retry_after: int | None = None  # seconds a caller should wait before retrying, when it may

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServingError):
    """The request is malformed or does not match the model's inputs."""

    status = 400


class ModelNotFound(ServingError):
    """No such model, version or label in the store."""

    status = 404

    def __init__(self, name: str, version: int | None = None, label: str | None = None) -> None:
        if label is not None:
            what = f"Model {name} has no label {label!r}"
        elif version is not None:
            what = f"Model {name} has no version {version}"
        else:
            what = f"There is no model named {name!r}"
        super().__init__(what)
        self.name, self.version, self.label = name, version, label


class NotServed(ModelNotFound):
    """The model (or version) is stored but no worker serves it: unloaded by an operator, or
    retired. A 404 as KServe answers, so clients and proxies do not retry it as they would a 503."""

    def __init__(self, name: str, version: int | None = None, reason: str = "unloaded") -> None:
        super().__init__(name, version)
        which = f"Model {name}" + (f" version {version}" if version is not None else "")
        self.message = f"{which} is not served ({reason})"
        self.args = (self.message,)
        self.reason = reason


class NotFound(ServingError):
    """Something a request names does not exist (e.g. a request id the prediction log never kept)."""

    status = 404


class ModelUnavailable(ServingError):
    """The version exists but cannot answer now: loading (with `retry_after`) or failed to load."""

    status = 503

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(ServingError):
    """The change contradicts the store's current state (e.g. a label on a missing version)."""

    status = 409


class PayloadTooLarge(ServingError):
    """The request exceeds a configured size limit (bytes, rows or pixels)."""

    status = 413


class Overloaded(ServingError):
    """The model's queue is full; the caller should retry later."""

    status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unimplemented(ServingError):
    """The model cannot do what was asked (e.g. classify on a regressor)."""

    status = 400


class StorageFailure(ServingError):
    """The server could not write (disk full, permissions): not the caller's fault."""

    status = 507


class JobNotFound(ServingError):
    """No such batch job: never made, or finished long enough ago to be removed."""

    status = 404

    def __init__(self) -> None:
        super().__init__("No such batch job (finished jobs are kept for a while, then removed)")
