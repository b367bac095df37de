"""The one exception handler: every error has the shape {"error": {type, code, message, param}}.

Also the answers for what never reaches an API view, so that nothing under /api/
is an HTML page, with DEBUG on or off: `api_not_found` for paths no endpoint
has (a catch-all route, because with DEBUG on Django answers its own technical
404 page before any handler404), and `error_handler` for the root URLconf's
handler400/403/404/500, JSON under /api/ and Django's own pages elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core import signals
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from apps.core.errors import DomainError

# Django's own logger for failed requests: a 500 here is logged like any other.
request_logger = logging.getLogger("django.request")

# DomainError.kind -> (HTTP status, error type)
KIND_STATUS = {
    "invalid_request": (status.HTTP_400_BAD_REQUEST, "invalid_request_error"),
    "not_found": (status.HTTP_404_NOT_FOUND, "invalid_request_error"),
    "permission": (status.HTTP_403_FORBIDDEN, "permission_error"),
    "conflict": (status.HTTP_409_CONFLICT, "invalid_request_error"),
}


def error_body(type_: str, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "message": message, "param": param}}


def _first_validation_error(detail: Any, path: str = "") -> tuple[str, str, str | None]:
    """(code, message, param) of the first field error, param in dotted form."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = path if field == "non_field_errors" else (
                f"{path}.{field}" if path else str(field))
            return _first_validation_error(value, name)
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                return _first_validation_error(item, f"{path}[{index}]")
            return _first_validation_error(item, path)
    code = getattr(detail, "code", "invalid") or "invalid"
    return str(code), str(detail), path or None


INTERNAL_ERROR = "Something went wrong on our side; it was logged. Retry later."


def internal_error_body(exc: BaseException | None = None) -> dict[str, Any]:
    message = INTERNAL_ERROR
    if exc is not None and settings.DEBUG:
        message = f"{message} (DEBUG: {exc!r})"
    return error_body("api_error", "internal_error", message)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        http_status, type_ = KIND_STATUS.get(exc.kind, KIND_STATUS["invalid_request"])
        if exc.code == "idempotency_key_reused":
            type_ = "idempotency_error"
        return Response(error_body(type_, exc.code, exc.message, exc.param), status=http_status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return _internal_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        code, message, param = _first_validation_error(exc.detail)
        response.data = error_body("invalid_request_error", code, message, param)
        return response
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.status_code = status.HTTP_401_UNAUTHORIZED
        code = getattr(exc, "code_override", None) or (
            "missing_api_key" if isinstance(exc, exceptions.NotAuthenticated) else "invalid_api_key"
        )
        response.data = error_body("authentication_error", code, str(exc.detail))
        return response
    if isinstance(exc, exceptions.Throttled):
        response.data = error_body("rate_limit_error", "rate_limited",
                                   "Too many requests: slow down and retry after Retry-After "
                                   "seconds.")
        return response
    if isinstance(exc, exceptions.PermissionDenied):
        code = str(getattr(exc.detail, "code", "permission_denied"))
        response.data = error_body("permission_error", code, str(exc.detail))
        return response
    if isinstance(exc, exceptions.NotFound):
        response.data = error_body("invalid_request_error", "not_found", str(exc.detail))
        return response
    code = str(getattr(exc, "default_code", "error"))
    detail = getattr(exc, "detail", str(exc))
    response.data = error_body("invalid_request_error", code, str(detail))
    return response


def _internal_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An exception no one expected: logged and signalled as Django does for a 500 (so the
    test client still raises it), answered in the error shape even with DEBUG on."""
    request = getattr(context.get("request"), "_request", None)
    request_logger.error("Internal Server Error: %s", getattr(request, "path", "?"),
                         exc_info=exc, extra={"status_code": 500, "request": request})
    signals.got_request_exception.send(sender=None, request=request)
    set_rollback()
    return Response(internal_error_body(exc), status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def _resolves_elsewhere(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any method on an /api/ path no endpoint has; says so when the other slash would do
    (`/api/v1/ping/` for `/api/v1/ping`), without redirecting a POST."""
    path = request.path
    other = path[:-1] if path.endswith("/") else f"{path}/"
    message = f"No API endpoint at {path}."
    if _resolves_elsewhere(other):
        message = f"{message} Did you mean {other}?"
    return JsonResponse(error_body("invalid_request_error", "not_found", message),
                        status=status.HTTP_404_NOT_FOUND)


# Status -> (type, code, message) of the root URLconf's handlers, for /api/ paths.
HANDLED = {
    400: ("invalid_request_error", "bad_request", "The request could not be understood."),
    403: ("permission_error", "permission_denied", "Permission denied."),
    404: ("invalid_request_error", "not_found", "No such API endpoint or object."),
    500: ("api_error", "internal_error", INTERNAL_ERROR),
}


def error_handler(status_code: int) -> Callable[..., HttpResponse]:
    """handler400/403/404/500 for the root URLconf: the API's error shape under /api/,
    Django's own pages everywhere else."""
    site_view = cast(Callable[..., HttpResponse], {
        400: defaults.bad_request, 403: defaults.permission_denied,
        404: defaults.page_not_found, 500: defaults.server_error,
    }[status_code])

    def handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        if not request.path.startswith("/api/"):
            if status_code == 500:
                return site_view(request)
            return site_view(request, exception)
        return JsonResponse(error_body(*HANDLED[status_code]), status=status_code)

    handler.__name__ = f"handler{status_code}"
    return handler
