"""The base API view: key authentication, scopes, rate limit, Idempotency-Key, cursors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Reseller
from apps.core.actors import Actor
from apps.core.errors import ValidationError

from .authentication import ApiKeyAuthentication, HasScope, KeyRateThrottle, actor_of
from .models import ApiKey
from .schema import ApiAutoSchema
from .serializers import ErrorSerializer
from .services import idempotency_claim, idempotency_response, idempotency_store

M = TypeVar("M", bound=Model)
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})

ERROR_TEXT = {
    400: "Invalid request (error.param names the field).",
    401: "Missing, unknown, revoked or expired API key.",
    403: "The key lacks the scope, or the address is outside its allow-list.",
    404: "No such object for this key's reseller and mode.",
    409: "The object's state refuses the operation, or the Idempotency-Key was reused.",
    429: "Rate limit: retry after the Retry-After header's seconds.",
}
ERROR_EXAMPLES = {
    400: ("invalid_request_error", "invalid", "months", "Months is a whole number of at least 1."),
    401: ("authentication_error", "invalid_api_key", None, "This API key is not valid."),
    403: ("permission_error", "missing_scope", None, "This key lacks the accounts:write scope."),
    404: ("invalid_request_error", "account_not_found", "account", "No such account."),
    409: ("invalid_request_error", "invalid_state_transition", "status",
          "An account that is terminated cannot suspend."),
    429: ("rate_limit_error", "rate_limited", None, "Too many requests."),
}
# Enforced as documented: header bytes outside ASCII reach Django decoded as Latin-1, so a
# key with them could differ between a client, a proxy and us; these characters cannot.
IDEMPOTENCY_KEY_PATTERN = "^[A-Za-z0-9._:-]+$"
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9._:-]{1,255}")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER, required=False,
    description="A unique string of 1 to 255 letters, digits, '.', '_', ':' or '-' (a UUID). "
                "Retrying with the same key and body replays the first response for 24 hours; "
                "another body with the key is refused; a key of other characters is a 400 "
                "(invalid_idempotency_key).",
)


IDEMPOTENCY_HEADER_REQUIRED = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER, required=True,
    description="Required here: money moves once per key. 1 to 255 letters, digits, '.', '_', "
                "':' or '-' (a UUID). Retrying with the same key and body has one effect and "
                "answers as the first time; another body with the key is refused "
                "(idempotency_key_reused). Without it: 400 idempotency_key_required.",
)


def idempotency_key_check(value: str) -> str:
    if not IDEMPOTENCY_KEY_RE.fullmatch(value):
        raise ValidationError(
            "An Idempotency-Key is 1 to 255 letters, digits, '.', '_', ':' or '-' "
            "(a UUID, for example).", code="invalid_idempotency_key", param="Idempotency-Key")
    return value


def _error_response(status: int) -> OpenApiResponse:
    type_, code, param, message = ERROR_EXAMPLES[status]
    return OpenApiResponse(
        response=ErrorSerializer, description=ERROR_TEXT[status],
        examples=[OpenApiExample(
            f"{status} {code}", status_codes=[str(status)], response_only=True,
            value={"error": {"type": type_, "code": code, "message": message, "param": param}},
        )],
    )


def doc(
    *,
    summary: str,
    response: Any,
    example: dict[str, Any],
    request: Any = None,
    status: int = 200,
    errors: Sequence[int] = (),
    query: type[serializers.Serializer] | None = None,
    request_example: dict[str, Any] | None = None,
    write: bool = False,
    path_params: Sequence[str] = (),
    op: str | None = None,
    also: dict[int, tuple[str, dict[str, Any]]] | None = None,
    idempotency_required: bool = False,
) -> Callable[[Any], Any]:
    """extend_schema with the success example and every error response the view can give.

    `idempotency_required`: the write refuses a request without an Idempotency-Key (a view
    with `idempotency_required = True`), and the schema says the header is required.

    `also`: other successful statuses with the same body shape, {status: (description,
    example)}: a payment recorded before is a 200 beside the 201 of a new one.
    """
    responses: dict[int, Any] = {
        status: OpenApiResponse(response=response, examples=[OpenApiExample(
            "success", value=example, response_only=True, status_codes=[str(status)])]),
    }
    for other, (description, other_example) in (also or {}).items():
        responses[other] = OpenApiResponse(
            response=response, description=description, examples=[OpenApiExample(
                str(other), value=other_example, response_only=True,
                status_codes=[str(other)])])
    always = {401, 403, 429, *((404,) if path_params else ()), *((400, 409) if write else ())}
    for code in sorted({*errors, *always}):
        responses[code] = _error_response(code)
    parameters: list[Any] = [
        OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH) for name in path_params
    ]
    if write:
        parameters.append(IDEMPOTENCY_HEADER_REQUIRED if idempotency_required
                          else IDEMPOTENCY_HEADER)
    if query is not None:
        parameters.append(query)
    examples = []
    if request_example is not None:
        examples.append(OpenApiExample("request", value=request_example, request_only=True))
    documented = extend_schema(summary=summary, request=request, responses=responses,
                               parameters=parameters, examples=examples, operation_id=op)

    def decorate(handler: Any) -> Any:
        # extend_schema builds on a handler's own `schema`: ours adds the OpenAPI links.
        handler.schema = ApiAutoSchema
        return documented(handler)

    return decorate


class ApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [KeyRateThrottle]
    required_scope: str | None = None
    required_scopes: dict[str, str] = {}
    # Writes that move money: a POST without an Idempotency-Key is refused.
    idempotency_required = False
    # The service keeps the key itself (it is the money movement's own key) and is called
    # outside any transaction of ours: a refund to a card calls Stripe, which must not run
    # while the payment's row is locked. The view reads it as self.idempotency_key.
    idempotency_in_service = False

    # ------------------------------------------------------------ helpers for subclasses

    @property
    def key(self) -> ApiKey:
        return self.request.auth  # type: ignore[return-value]

    @property
    def reseller(self) -> Reseller:
        return self.key.reseller

    @property
    def livemode(self) -> bool:
        return self.key.livemode

    @property
    def actor(self) -> Actor:
        return actor_of(self.request)

    @property
    def idempotency_key(self) -> str:
        return str(self.request.headers["Idempotency-Key"])

    def valid(self, serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    # ------------------------------------------------------------ dispatch with idempotency

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # DRF's own dispatch, with the handler run under the Idempotency-Key when one is sent.
        self.args = args
        self.kwargs = kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            self.initial(drf_request, *args, **kwargs)
            method = (drf_request.method or "").lower()
            handler = getattr(self, method, self.http_method_not_allowed) if (
                method in self.http_method_names) else self.http_method_not_allowed
            idempotency_key = drf_request.headers.get("Idempotency-Key")
            writes = (drf_request.method in WRITE_METHODS
                      and handler != self.http_method_not_allowed)
            if writes and idempotency_key is None and self.idempotency_required:
                raise ValidationError(
                    "This operation moves money: send an Idempotency-Key header (a UUID, for "
                    "example) and the same one again when you retry.",
                    code="idempotency_key_required", param="Idempotency-Key")
            if idempotency_key is not None and writes and self.idempotency_in_service:
                idempotency_key_check(idempotency_key)
                response = handler(drf_request, *args, **kwargs)
            elif idempotency_key is not None and writes:
                response = self._idempotent(handler, drf_request,
                                            idempotency_key_check(idempotency_key), args, kwargs)
            else:
                response = handler(drf_request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(drf_request, response, *args, **kwargs)
        return self.response

    def _idempotent(
        self, handler: Callable[..., Response], request: Request, idempotency_key: str,
        args: Any, kwargs: Any,
    ) -> Response:
        body = request._request.body
        request_hash = hashlib.sha256(
            f"{request.method} {request.path}\n".encode() + body
        ).hexdigest()
        with transaction.atomic():
            claim = idempotency_claim(
                key=self.key, idempotency_key=idempotency_key, method=request.method or "",
                path=request.path, request_hash=request_hash,
            )
            if not claim.fresh:
                replay = Response(idempotency_response(claim.record),
                                  status=claim.record.response_status)
                replay["Idempotent-Replayed"] = "true"
                return replay
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:
                # A 4xx is the answer to keep; anything else re-raises and rolls back the claim.
                response = self.handle_exception(exc)
            idempotency_store(record=claim.record, status=response.status_code,
                              body=response.data)
        return response


# ---------------------------------------------------------------- cursors


def encode_cursor(value: int) -> str:
    return str(value)


def decode_cursor(cursor: str | None) -> int | None:
    """The cursor is the last id shown (or an offset); the query serializer checked its form."""
    if not cursor:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise ValidationError("The cursor is not one this API gave.", code="invalid_cursor",
                              param="cursor")
    return int(cursor)


def keyset_page(
    rows: QuerySet[M], *, cursor: str | None, limit: int
) -> tuple[list[M], str | None]:
    """Newest first by id; the cursor is the last id shown. Cost does not grow with the rows."""
    after = decode_cursor(cursor)
    if after is not None:
        rows = rows.filter(pk__lt=after)
    page = list(rows.order_by("-pk")[: limit + 1])
    next_cursor = encode_cursor(page[limit - 1].pk) if len(page) > limit else None
    return page[:limit], next_cursor


def offset_page(
    rows: QuerySet[M], *, cursor: str | None, limit: int
) -> tuple[list[M], str | None]:
    """For lists in a computed order (the renewal queue): the cursor is an offset."""
    start = decode_cursor(cursor) or 0
    page = list(rows[start : start + limit + 1])
    next_cursor = encode_cursor(start + limit) if len(page) > limit else None
    return page[:limit], next_cursor
