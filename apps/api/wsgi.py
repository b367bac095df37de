"""The API's own WSGI handler: Django's, with settings.API_MIDDLEWARE for middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ApiHandler(WSGIHandler):
    """Serves the /api/ paths. The middleware chain is built once, at start-up, from
    API_MIDDLEWARE (override_settings is Django's way to read another list there)."""

    def load_middleware(self, is_async: bool = False) -> None:
        with override_settings(MIDDLEWARE=settings.API_MIDDLEWARE):
            super().load_middleware(is_async)


def by_path(*, api: WSGIApp, site: WSGIApp) -> WSGIApp:
    """One WSGI application: paths under /api/ to `api`, the rest to `site`."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = api if environ.get("PATH_INFO", "").startswith("/api/") else site
        return handler(environ, start_response)

    return application
