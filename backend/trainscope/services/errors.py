"""The services' refusals. Each carries the HTTP status that web/errors.py answers it with, so
the services say what went wrong without knowing about HTTP's responses."""

from __future__ import annotations


class RunError(Exception):
    """A request that cannot be done as asked; carries its HTTP status."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunNotFound(RunError):
    status_code = 404


class RunConflict(RunError):
    status_code = 409


class SpecRejected(RunError):
    """A spec (or upload) that validates but this server will not run: a 422 naming the field,
    shaped like a validation error so the dashboard shows it at that field."""

    status_code = 422

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(f"{'.'.join(loc)}: {message}")
        self.loc = loc
        self.msg = message


class TooManyRuns(RunError):
    status_code = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ExternalRunError(Exception):
    """Carries the HTTP status the route answers with (404, 409)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
