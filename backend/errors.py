"""RFC 9457 problem details for every error the API returns.

Every error carries a stable machine ``code``; validation errors list each bad field with a JSON
pointer. Pointers for body fields point into the request body (``/lat``); for parameters they
name the location and the parameter (``/query/limit``, ``/path/store_id``).
"""

import logging
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://doorstep.dev/problems/"


class FieldError(dict[str, Any]):
    def __init__(self, pointer: str, message: str, code: str) -> None:
        super().__init__(pointer=pointer, message=message, code=code)


class AppError(Exception):
    """An error with a stable code. ``keeps_changes`` errors record something (a failed login,
    a revoked token family) that must survive: the request boundary commits before answering."""

    status: int = 400
    code: str = "bad_request"
    keeps_changes: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.code = code or self.code
        self.status = status or self.status
        self.detail = detail or HTTPStatus(self.status).phrase
        self.errors = list(errors)
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class NotFound(AppError):
    status, code = 404, "not_found"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Conflict(AppError):
    status, code = 409, "conflict"


class RateLimited(AppError):
    status, code = 429, "rate_limited"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class ValidationFailed(AppError):
    status, code = 422, "validation_error"


# How long a client (or a load balancer) should wait before retrying while PostgreSQL is away:
# a restart or a fail-over takes a few seconds.
DATABASE_RETRY_AFTER_S = 3


class DatabaseUnavailable(AppError):
    """PostgreSQL cannot be reached right now: ``503`` with ``Retry-After``, never a ``500``."""

    status, code = 503, "database_unavailable"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(DATABASE_RETRY_AFTER_S)})
        super().__init__(detail or "The database is unavailable; retry shortly.", **kwargs)


# Failures that say the server is gone, going or not taking connections, whatever the statement.
_CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # 08xxx: connection lost, refused, does not exist
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: terminated by a shutdown or pg_terminate_backend
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    sa_exc.TimeoutError,  # no pooled connection came free in time (the server hangs, or is swamped)
)
# asyncpg says "closed" only in the message of its generic InterfaceError.
_CLOSED_MESSAGES = ("connection is closed", "pool is closing", "pool is closed")
# An idle connection that receives an error out of turn (the FATAL "terminating connection" a
# server shutting down sends every backend) waits for the socket to close in the protocol state
# ERROR_CONSUME (2); a statement sent in that moment fails with this instead of the FATAL.
_ERROR_CONSUME_MESSAGE = "another operation (2) is in progress"


def _is_connection_failure(exc: BaseException, connecting: bool) -> bool:
    if isinstance(exc, (DatabaseUnavailable, *_CONNECTION_FAILURES)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return any(message in str(exc) for message in _CLOSED_MESSAGES)
    if isinstance(exc, asyncpg.InternalClientError):
        return str(exc).endswith(_ERROR_CONSUME_MESSAGE)
    if isinstance(exc, OSError):  # TimeoutError and ConnectionError included
        # Opening a connection, or raised inside asyncpg: a refused or missing socket, a
        # timeout, a broken pipe is the server being away. From anywhere else (a file write,
        # an S3 call) an OSError says nothing about the database.
        return connecting or _raised_in_asyncpg(exc)
    return False


def _raised_in_asyncpg(exc: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("asyncpg.")
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def is_database_unavailable(exc: BaseException, *, connecting: bool = False) -> bool:
    """Whether ``exc``, or an exception it was raised from or while handling, says PostgreSQL
    cannot be reached. ``connecting``: ``exc`` comes from opening a connection, where any
    ``OSError`` (``TimeoutError`` included) means the same."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _is_connection_failure(current, connecting):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": list(errors),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def database_unavailable_response() -> JSONResponse:
    """The ``503 database_unavailable`` answer, for code outside the app's exception handlers
    (a pure ASGI middleware that met an outage answers with this rather than raising)."""
    error = DatabaseUnavailable()
    return problem_response(error.status, error.code, error.detail, headers=error.headers)


def pointer_for(loc: Sequence[str | int]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "/" + "/".join(parts) if parts else ""


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        out.append(
            {
                "pointer": pointer_for(err.get("loc", ())),
                "message": message.replace("\x00", "\\x00"),
                "code": str(err.get("type", "invalid")),
            }
        )
    return out


async def _app_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra
    )


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422, "validation_error", "The request is not valid.", errors=_validation_errors(exc)
    )


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, code, detail, headers=headers)


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(500, "internal_error", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
