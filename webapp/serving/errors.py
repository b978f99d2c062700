"""One error hierarchy for the serving core: plain messages, and the status class a protocol maps.

The core speaks no protocol: a message here says what went wrong in plain words. Each surface
words it its own way where its clients expect a fixed text (`/api/v1` writes TF Serving's
"Servable not found ..."; the pages write a friendly sentence) and renders the status.
"""

from __future__ import annotations


class ServingError(Exception):
    """Base class: a message meant for the caller and an HTTP-ish status."""

    status: int = 500

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


class NotFound(ServingError):
    """Something a request names does not exist (e.g. a request id the prediction log never kept)."""

    status = 404


class ModelUnavailable(ServingError):
    """The version exists but is loading, failed to load or was unloaded."""

    status = 503


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
