"""Stripe for the tests: localstripe's aiohttp app in a thread, with what it lacks added around it.

The real stripe SDK talks to it over HTTP (settings.STRIPE_API_BASE = server.url).
What localstripe does not do the way Stripe documents it is added here, in
aiohttp middlewares put in front of localstripe's own (and three small patches
of its objects where the state has to live in its store); README.md, "Stripe in
the tests", lists each one with the Stripe page it follows.

A test uses it through the fixtures in tests/conftest.py: `stripe_base` (a fresh
store, settings pointed at the server) gives this module's StripeServer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import types
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe
from aiohttp import web
from localstripe import resources as ls_resources
from localstripe import server as ls_server
from localstripe import webhooks as ls_webhooks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Stripe's test cards that decline (https://docs.stripe.com/testing#declined-payments):
# the error `code` and `decline_code` Stripe gives for each.
DECLINES: dict[str, tuple[str, str]] = {
    "4000000000000002": ("card_declined", "generic_decline"),
    "4000000000009995": ("card_declined", "insufficient_funds"),
    "4000000000009987": ("card_declined", "lost_card"),
    "4000000000009979": ("card_declined", "stolen_card"),
    "4000000000000069": ("expired_card", "expired_card"),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc"),
    "4000000000000119": ("processing_error", "processing_error"),
    "4242424242424241": ("incorrect_number", ""),
    "4000000000000341": ("card_declined", "generic_decline"),
    "4000008260003178": ("card_declined", "insufficient_funds"),
    "4000008400001629": ("card_declined", "generic_decline"),
}

# Replayed and remembered, as Stripe does: results of requests that started
# executing (successes, card errors, server errors); not validation errors.
_SAVED = {402}


def _remembered(status: int) -> bool:
    return status < 400 or status in _SAVED or status >= 500


@dataclass
class Request:
    """One request that reached the server, as the test sees it."""

    method: str
    path: str
    idempotency_key: str
    api_key: str
    status: int | None = None  # None: never answered ("never reached")
    replayed: bool = False
    hung: bool = False
    dropped: bool = False  # hung and never carried out


RECORD = web.RequestKey("record", Request)


@dataclass
class Delivery:
    """One signed webhook request localstripe sent, caught before it reached any panel."""

    endpoint: str
    payload: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.payload))

    @property
    def type(self) -> str:
        return str(self.event["type"])

    def post(self, client: Any, url: str) -> Any:
        """Send it to the panel through Django's test client, as Stripe would."""
        return client.post(url, data=self.payload, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=self.signature)


@dataclass
class _Hang:
    method: str
    path: re.Pattern[str]
    seconds: float
    carried_out: bool
    remaining: int


@dataclass
class _Idempotent:
    params: list[tuple[str, str]]
    status: int = 0
    body: bytes = b""
    content_type: str = "application/json"
    done: bool = False


def sign(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for the payload, made as Stripe makes it.

    https://docs.stripe.com/webhooks#verify-manually: v1 is HMAC-SHA256 of
    "{t}.{payload}" with the endpoint's signing secret.
    """
    body = payload.encode() if isinstance(payload, str) else payload
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _api_key(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme == "Bearer":
        return value
    if scheme == "Basic":
        return base64.b64decode(value).decode().split(":")[0]
    return ""


def _livemode(api_key: str) -> bool:
    return api_key.startswith(("sk_live_", "rk_live_"))


def _error(status: int, type_: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, **extra}},
                             status=status)


async def _body_params(request: web.Request) -> list[tuple[str, str]]:
    raw = await request.read()
    return sorted(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))


def _json(response: web.StreamResponse) -> Any:
    if isinstance(response, web.Response) and response.body is not None \
            and response.content_type == "application/json":
        return json.loads(bytes(response.body))  # type: ignore[arg-type]
    return None


def _card_number(payment_method_id: str | None) -> str:
    if not payment_method_id:
        return ""
    pm = ls_resources.store.get("payment_method:" + payment_method_id)
    return str(getattr(pm, "_card_number", "") or "")


class StripeServer:
    """localstripe on 127.0.0.1:<free port>, and the controls the tests need."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Request] = []
        self.deliveries: list[Delivery] = []
        self._hangs: list[_Hang] = []
        self._rejected: dict[str, int] = {}
        self._idempotent: dict[tuple[str, str], _Idempotent] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._endpoints = 0

    # ------------------------------------------------------------ controls

    def hang_next(self, n: int = 1, seconds: float = 5.0, *, method: str = "POST",
                  path: str = r"/v1/payment_intents", carried_out: bool = True) -> None:
        """Make the next `n` matching requests get no answer in time.

        carried_out=True: Stripe does the work (the charge exists) and the answer
        comes `seconds` late; False: the request never reaches Stripe and the
        connection is closed after `seconds`. `path` is a regular expression
        that must match the whole path.
        """
        with self._lock:
            self._hangs.append(_Hang(method.upper(), re.compile(path), seconds, carried_out, n))

    def reject_key(self, secret_key: str) -> None:
        """Answer 401 to this key, as Stripe answers an invalid or revoked key."""
        with self._lock:
            self._rejected[secret_key] = 401

    def webhook_endpoint(self, secret: str, events: list[str] | None = None) -> str:
        """Register a webhook endpoint with localstripe whose deliveries land in
        self.deliveries (signed with `secret`); returns the endpoint's id."""
        with self._lock:
            self._endpoints += 1
            endpoint = f"we_{self._endpoints}"
        data: dict[str, Any] = {"url": f"{self.url}/_test/webhooks/{endpoint}", "secret": secret}
        if events is not None:
            data["events"] = events

        async def register() -> None:
            ls_webhooks.register_webhook(endpoint, data["url"], secret, events)

        self._run(register())
        return endpoint

    def wait_for_event(self, type_: str, *, timeout: float = 5.0,
                       count: int = 1) -> list[Delivery]:
        """The deliveries of events of this type once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in list(self.deliveries) if d.type == type_]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {type_} webhook within {timeout}s; got "
                    f"{[d.type for d in self.deliveries]}")
            time.sleep(0.02)

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Every object of this kind ("payment_intent", "refund", ...) in the store."""

        async def export() -> list[dict[str, Any]]:
            prefix = kind + ":"
            return [obj._export() for key, obj in list(ls_resources.store.items())
                    if key.startswith(prefix)]

        return self._run(export())

    def calls(self, method: str, path: str) -> list[Request]:
        """The requests with this method and path (a regular expression, whole path)."""
        pattern = re.compile(path)
        return [r for r in list(self.requests)
                if r.method == method.upper() and pattern.fullmatch(r.path)]

    def card(self, number: str, *, secret_key: str) -> str:
        """A card PaymentMethod (what Stripe Elements makes in the browser): its id."""
        client = stripe.StripeClient(secret_key, base_addresses={"api": self.url},
                                     max_network_retries=0)
        pm = client.v1.payment_methods.create(params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        })
        return str(pm.id)

    def reset(self) -> None:
        """Empty the store, the webhook endpoints, the log and every control."""

        async def flush() -> None:
            ls_resources.store.clear()
            ls_webhooks._webhooks.clear()

        self._run(flush())
        with self._lock:
            self.requests.clear()
            self.deliveries.clear()
            self._hangs.clear()
            self._rejected.clear()
            self._idempotent.clear()

    # ------------------------------------------------------------ middlewares

    @web.middleware
    async def _log(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_test/webhooks/"):
            self.deliveries.append(Delivery(
                endpoint=request.path.rsplit("/", 1)[-1], payload=await request.read(),
                signature=request.headers.get("Stripe-Signature", "")))
            return web.Response(text="ok")
        record = Request(request.method, request.path,
                         request.headers.get("Idempotency-Key", ""), _api_key(request))
        self.requests.append(record)
        request[RECORD] = record
        response = await handler(request)
        record.status = None if record.dropped else response.status
        record.replayed = response.headers.get("Idempotent-Replayed") == "true"
        return response

    @web.middleware
    async def _keys(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        key = _api_key(request)
        if key in self._rejected:
            # https://docs.stripe.com/api/errors: 401, invalid_request_error.
            return _error(401, "invalid_request_error",
                          f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}")
        if key.startswith("rk_"):
            # Restricted keys (https://docs.stripe.com/keys#limit-access) work like
            # secret keys here; localstripe knows only sk_.
            request = request.clone(headers={**request.headers,
                                             "Authorization": "Bearer sk_" + key[3:]})
        return await handler(request)

    @web.middleware
    async def _hang(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        rule = None
        with self._lock:
            for candidate in self._hangs:
                if candidate.remaining > 0 and candidate.method == request.method \
                        and candidate.path.fullmatch(request.path):
                    candidate.remaining -= 1
                    rule = candidate
                    break
        if rule is None:
            return await handler(request)
        request[RECORD].hung = True
        if rule.carried_out:
            response = await handler(request)
            await asyncio.sleep(rule.seconds)
            return response
        await asyncio.sleep(rule.seconds)
        request[RECORD].dropped = True
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=504)

    @web.middleware
    async def _idempotency(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # https://docs.stripe.com/api/idempotent_requests
        key = request.headers.get("Idempotency-Key", "")
        if request.method != "POST" or not key or request.path.startswith("/_config/"):
            return await handler(request)
        params = await _body_params(request)
        scope = (_api_key(request), key)
        with self._lock:
            first = self._idempotent.get(scope)
            if first is None:
                first = self._idempotent[scope] = _Idempotent(params)
                mine = True
            else:
                mine = False
        if not mine:
            if first.params != params:
                return _error(
                    400, "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.")
            if not first.done:
                return _error(409, "invalid_request_error",
                              "There is currently another in-progress request using this "
                              "Idempotent Key. Please try again later.",
                              code="idempotency_key_in_use")
            replay = web.Response(status=first.status, body=first.body,
                                  content_type=first.content_type)
            replay.headers["Idempotent-Replayed"] = "true"
            replay.headers["Idempotency-Key"] = key
            return replay
        try:
            response = await handler(request)
        except BaseException:
            with self._lock:
                self._idempotent.pop(scope, None)
            raise
        if isinstance(response, web.Response) and _remembered(response.status):
            first.status, first.content_type = response.status, response.content_type
            first.body = bytes(response.body or b"")  # type: ignore[arg-type]
            first.done = True
        else:
            with self._lock:
                self._idempotent.pop(scope, None)
        response.headers["Idempotency-Key"] = key
        return response

    @web.middleware
    async def _compat(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answers shaped as Stripe documents them where localstripe's differ."""
        off_session = False
        if request.method == "POST" and re.fullmatch(
                r"/v1/payment_intents(/\w+/confirm)?", request.path):
            off_session = ("off_session", "true") in await _body_params(request)
        customer = ""
        if request.method == "GET" and request.path == "/v1/payment_intents" \
                and "customer" in request.query:
            # https://docs.stripe.com/api/payment_intents/list#list_payment_intents-customer:
            # localstripe refuses the filter; list them all and keep the customer's.
            customer = request.query["customer"]
            query = {k: v for k, v in request.query.items() if k not in ("customer", "limit")}
            request = request.clone(rel_url=request.rel_url.with_query(query))
        response = await handler(request)
        data = _json(response)
        if data is None:
            return response
        if customer and isinstance(data.get("data"), list):
            data["data"] = [pi for pi in data["data"] if pi.get("customer") == customer]
        livemode = _livemode(_api_key(request))
        if response.status == 402:
            return self._card_error(request, data, livemode)
        if off_session and response.status == 200 and data.get("status") == "requires_action":
            return self._authentication_required(data["id"], livemode)
        if request.path == "/v1/balance":
            # https://docs.stripe.com/api/balance/balance_object: lists per currency.
            for part in ("available", "pending"):
                if isinstance(data.get(part), dict):
                    data[part] = [data[part]]
        if isinstance(data, dict) and "livemode" in data:
            data["livemode"] = livemode
        return web.json_response(data, status=response.status)

    def _card_error(self, request: web.Request, data: dict[str, Any],
                    livemode: bool) -> web.Response:
        # https://docs.stripe.com/declines/codes and https://docs.stripe.com/api/errors:
        # type card_error, the decline_code, and the PaymentIntent it happened on.
        error = dict(data.get("error") or {})
        error["type"] = "card_error"
        charge = ls_resources.store.get("charge:" + str(error.get("charge", "")))
        pm_id = getattr(charge, "payment_method", None)
        match = re.fullmatch(r"/v1/payment_methods/(\w+)/attach", request.path)
        if match:
            pm_id = match.group(1)
        code, decline_code = DECLINES.get(_card_number(pm_id),
                                          ("card_declined", "generic_decline"))
        error["code"] = code
        if decline_code:
            error["decline_code"] = decline_code
        if pm_id:
            error["payment_method"] = {"id": pm_id, "object": "payment_method"}
        intent_id = getattr(charge, "payment_intent", None)
        if intent_id:
            intent = ls_resources.store["payment_intent:" + intent_id]._export()
            intent["livemode"] = livemode
            error["payment_intent"] = intent
        return web.json_response({"error": error}, status=402)

    def _authentication_required(self, intent_id: str, livemode: bool) -> web.Response:
        # https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method:
        # off-session, a card that needs its holder fails with card_error
        # authentication_required, the PaymentIntent left requires_payment_method.
        intent = ls_resources.store["payment_intent:" + intent_id]
        message = ("Your card was declined. This transaction requires authentication.")
        intent.next_action = None
        intent._compat_last_payment_error = {
            "type": "card_error", "code": "authentication_required",
            "decline_code": "authentication_required", "message": message,
            "payment_method": {"id": intent.payment_method, "object": "payment_method"},
        }
        pm_id = intent.payment_method
        intent.payment_method = None
        ls_webhooks.schedule_webhook(
            ls_resources.Event("payment_intent.payment_failed", intent))
        exported = intent._export()
        exported["livemode"] = livemode
        return web.json_response({"error": {
            "type": "card_error", "code": "authentication_required",
            "decline_code": "authentication_required", "message": message,
            "payment_intent": exported,
            "payment_method": {"id": pm_id, "object": "payment_method"},
        }}, status=402)

    # ------------------------------------------------------------ running

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> None:
        _patch_localstripe()
        app = ls_server.app
        for middleware in reversed([self._log, self._keys, self._hang, self._idempotency,
                                    self._compat]):
            app.middlewares.insert(0, middleware)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        loop = self._loop = asyncio.new_event_loop()
        runner = self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        self._thread = threading.Thread(target=loop.run_forever, name="localstripe",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        self._run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)


_patched = False


def _patch_localstripe() -> None:
    """What has to live in localstripe's store, patched on its classes once."""
    global _patched
    if _patched:
        return
    _patched = True
    store = ls_resources.store
    # Its store pickles itself to /tmp/localstripe.pickle on every write: not here.
    store.dump_to_disk = lambda: None

    # https://docs.stripe.com/api/payment_intents/create#create_payment_intent-description
    intent_cls: Any = ls_resources.PaymentIntent
    original_init = intent_cls.__init__

    def init(self: Any, *args: Any, description: str | None = None, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.description = description

    intent_cls.__init__ = init

    # https://docs.stripe.com/api/payment_intents/object#payment_intent_object-last_payment_error:
    # the decline_code beside the code, and what an off-session failure left.
    original_error = intent_cls.last_payment_error

    def last_payment_error(self: Any) -> Any:
        own = getattr(self, "_compat_last_payment_error", None)
        if own is not None:
            return own
        error = original_error.fget(self)
        if error and self.latest_charge is not None:
            code, decline_code = DECLINES.get(_card_number(self.latest_charge.payment_method),
                                              ("card_declined", "generic_decline"))
            error = {**error, "type": "card_error", "code": code}
            if decline_code:
                error["decline_code"] = decline_code
        return error

    intent_cls.last_payment_error = property(last_payment_error)

    # localstripe waits 1 s before sending each webhook; Stripe sends them as they
    # happen, and the tests should not wait.
    async def no_sleep(_delay: float) -> None:
        await asyncio.sleep(0)

    shim = types.SimpleNamespace(**{name: getattr(asyncio, name) for name in dir(asyncio)
                                    if not name.startswith("__")})
    shim.sleep = no_sleep
    ls_webhooks.asyncio = shim


@contextmanager
def running_stripe_server() -> Iterator[StripeServer]:
    server = StripeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["DECLINES", "Delivery", "Request", "StripeServer", "running_stripe_server", "sign"]

