"""Nothing under /api/ is an HTML page: unknown paths, wrong methods and failures answer in
the API's error shape, with DEBUG on and off; the site's own pages stay HTML."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings

from .conftest import client_for
from .test_wsgi import call

pytestmark = pytest.mark.django_db

UNKNOWN = ["/api/v1/ping/", "/api/v1/nope", "/api/v1/accounts/1/nope", "/api/v2/accounts",
           "/api/", "/api"]


def assert_error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    error = json.loads(response.content)["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert error["code"] == code
    return error


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_api_path_answers_a_json_404(debug: bool, path: str) -> None:
    error = assert_error_shape(Client().get(path), 404, "not_found")
    assert error["type"] == "invalid_request_error"
    assert path in error["message"]


def test_a_trailing_slash_too_many_says_which_path_exists(debug: bool, live_key: str) -> None:
    error = assert_error_shape(client_for(live_key).get("/api/v1/ping/"), 404, "not_found")
    assert error["message"] == "No API endpoint at /api/v1/ping/. Did you mean /api/v1/ping?"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "head"])
def test_any_method_on_an_unknown_path_is_a_json_404_not_a_csrf_page(debug: bool,
                                                                    method: str) -> None:
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v1/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_wrong_method_answers_a_json_405(debug: bool, live_key: str) -> None:
    response = client_for(live_key).delete("/api/v1/ping")
    error = assert_error_shape(response, 405, "method_not_allowed")
    assert error["type"] == "invalid_request_error"
    assert "GET" in response["Allow"]


@override_settings(ROOT_URLCONF="tests.api.boom_urls")
def test_a_failing_api_view_answers_a_json_500_and_is_logged(
    debug: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Client(raise_request_exception=False).get("/api/v1/test-failing")
    error = assert_error_shape(response, 500, "internal_error")
    assert error["type"] == "api_error"
    assert ("an API view failed" in error["message"]) is debug
    assert any(r.exc_info and "an API view failed" in str(r.exc_info[1]) for r in caplog.records)


@override_settings(ROOT_URLCONF="tests.api.boom_urls")
def test_a_failing_api_view_still_raises_in_the_test_client(debug: bool) -> None:
    # The failure is signalled as Django signals any 500: tests see the real exception.
    with pytest.raises(RuntimeError, match="an API view failed"):
        Client().get("/api/v1/test-failing")


@override_settings(ROOT_URLCONF="tests.api.boom_urls", DEBUG=False)
def test_a_failure_outside_an_api_view_under_api_is_a_json_500() -> None:
    response = Client(raise_request_exception=False).get("/api/v1/test-failing-plain")
    assert_error_shape(response, 500, "internal_error")


@override_settings(ROOT_URLCONF="tests.api.boom_urls", DEBUG=False)
def test_the_sites_own_error_pages_stay_html() -> None:
    client = Client(raise_request_exception=False)
    for path, status in [("/test-failing-page", 500), ("/no-such-page/", 404)]:
        response = client.get(path)
        assert response.status_code == status
        assert response["Content-Type"].startswith("text/html")


def test_the_deployed_api_handler_answers_a_json_404(in_process: None) -> None:
    status, headers, body = call("/api/v1/ping/")
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"
