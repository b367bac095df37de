from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.api.models import Scope
from apps.api.services import api_key_create
from apps.subscriptions.models import Plan

from ..conftest import SYSTEM
from ..factories import PlanFactory, ResellerFactory

ALL_SCOPES = list(Scope.values)


def make_key(reseller: Reseller, *, mode: str = "live", scopes: list[str] | None = None,
             **extra: Any) -> str:
    _, raw = api_key_create(actor=SYSTEM, reseller=reseller, name=f"{mode} key", mode=mode,
                            scopes=ALL_SCOPES if scopes is None else scopes, **extra)
    return raw


def client_for(raw: str | None) -> APIClient:
    client = APIClient()
    if raw:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def in_process(db: None) -> Iterator[None]:
    """For tests that call the WSGI application themselves: its requests must not close the
    test's connection (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def live_key(reseller: Reseller) -> str:
    return make_key(reseller, mode="live")


@pytest.fixture
def test_key(reseller: Reseller) -> str:
    return make_key(reseller, mode="test")


@pytest.fixture
def api(live_key: str) -> APIClient:
    return client_for(live_key)


@pytest.fixture
def test_api(test_key: str) -> APIClient:
    return client_for(test_key)


@pytest.fixture
def other_reseller(db: None) -> Reseller:
    return ResellerFactory.create()


@pytest.fixture
def other_plan(other_reseller: Reseller) -> Plan:
    return PlanFactory.create(reseller=other_reseller, name="Theirs")


def create_body(plan: Plan, **subscriber: Any) -> dict[str, Any]:
    return {"subscriber": subscriber or {"external_id": "c-1", "email": "ana@example.net",
                                         "name": "Ana"},
            "plan": plan.pk, "months": 1}


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "code", "message", "param"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


@dataclass
class Receiver:
    """A webhook receiver on a real socket; answers with `statuses` in turn (then 200)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    from billing_panel.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


__all__: list[str] = ["ALL_SCOPES", "Callable", "assert_error", "client_for", "create_body",
                      "make_key"]
