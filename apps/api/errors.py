"""The one exception handler: every error has the shape {"error": {type, code, message, param}}."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import DomainError

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


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        http_status, type_ = KIND_STATUS.get(exc.kind, KIND_STATUS["invalid_request"])
        if exc.code == "idempotency_key_reused":
            type_ = "idempotency_error"
        return Response(error_body(type_, exc.code, exc.message, exc.param), status=http_status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
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
