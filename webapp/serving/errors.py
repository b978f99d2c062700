"""One error hierarchy for the serving core; each error carries the status a protocol renders."""

from __future__ import annotations


class ServingError(Exception):
    """Base class: a message meant for the caller and an HTTP-ish status."""

    status: int = 500
    code: str = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServingError):
    """The request is malformed or does not match the model's inputs."""

    status = 400
    code = "INVALID_ARGUMENT"


class ModelNotFound(ServingError):
    """No such model, version or label in the store."""

    status = 404
    code = "NOT_FOUND"

    def __init__(self, name: str, version: int | None = None, label: str | None = None) -> None:
        if label is not None:
            what = f"Servable not found for request: Label({name}, {label})"
        elif version is not None:
            what = f"Servable not found for request: Specific({name}, {version})"
        else:
            what = f"Servable not found for request: Latest({name})"
        super().__init__(what)
        self.name, self.version, self.label = name, version, label


class NotFound(ServingError):
    """Something a request names does not exist (e.g. a request id the prediction log never kept)."""

    status = 404
    code = "NOT_FOUND"


class ModelUnavailable(ServingError):
    """The version exists but is loading, failed to load or was unloaded."""

    status = 503
    code = "UNAVAILABLE"


class Conflict(ServingError):
    """The change contradicts the store's current state (e.g. a label on a missing version)."""

    status = 409
    code = "ALREADY_EXISTS"


class PayloadTooLarge(ServingError):
    """The request exceeds a configured size limit (bytes, rows or pixels)."""

    status = 413
    code = "RESOURCE_EXHAUSTED"


class Overloaded(ServingError):
    """The model's queue is full; the caller should retry later."""

    status = 503
    code = "UNAVAILABLE"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unimplemented(ServingError):
    """The model cannot do what was asked (e.g. classify on a regressor)."""

    status = 400
    code = "FAILED_PRECONDITION"
