"""The deployed WSGI application: /api/ paths through API_MIDDLEWARE, the rest through the
site's middleware."""

from __future__ import annotations

import json
from typing import Any
from wsgiref.util import setup_testing_defaults

from billing_panel.wsgi import application


def call(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "HTTP_HOST": "testserver",
                               **{f"HTTP_{name.upper()}": value for name, value in headers.items()}}
    setup_testing_defaults(environ)
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = {name.lower(): value for name, value in response_headers}

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return answer["status"], answer["headers"], body


def test_an_api_request_runs_through_the_api_middleware_only(in_process: None,
                                                             live_key: str) -> None:
    status, headers, body = call("/api/v1/ping", authorization=f"Bearer {live_key}",
                                 accept_language="es")
    assert status == 200
    assert json.loads(body)["mode"] == "live"
    # Security, common and clickjacking middleware ran ...
    assert headers["content-length"] == str(len(body))
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    # ... and none of the site's: no language chosen, no session, no cookie.
    assert "content-language" not in headers
    assert "set-cookie" not in headers
    assert "cookie" not in headers.get("vary", "").lower()


def test_api_errors_keep_their_shape_through_the_api_middleware(in_process: None) -> None:
    status, headers, body = call("/api/v1/ping")
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="api"'
    assert json.loads(body)["error"]["type"] == "authentication_error"


def test_a_site_page_runs_through_the_site_middleware(in_process: None) -> None:
    status, headers, _ = call("/", accept_language="es")
    assert status == 302
    assert headers["content-language"] == "es"
