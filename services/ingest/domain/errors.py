"""Input errors, each mapped to the HTTP status a provider (or a publisher) should see.

Raised by signature checks and normalizers; the HTTP layer turns them into a JSON problem
body and the Kafka consumer turns them into a DLQ reason. Nothing is published when one is raised.
"""
from __future__ import annotations


class IngestError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class BadRequest(IngestError):
    """The body cannot be read at all (not JSON, not a form, wrong encoding)."""


class InvalidField(IngestError):
    """The body was readable but a field is missing or wrong."""

    status = 422
    code = "invalid_field"


class UnsupportedMediaType(IngestError):
    """The body (or an event's data) is in a format we do not read; the message names the ones we do."""

    status = 415
    code = "unsupported_media_type"


class Unauthenticated(IngestError):
    """No credentials or signature were presented."""

    status = 401
    code = "unauthenticated"


class SignatureMismatch(IngestError):
    """Credentials were presented but do not match, or are outside the replay window."""

    status = 403
    code = "forbidden"


class NotFound(IngestError):
    status = 404
    code = "not_found"

