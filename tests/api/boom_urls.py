"""The site's URLconf (and its error handlers) plus views that fail, for tests/api/test_error_shape.py."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_panel.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class FailingApiView(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("an API view failed")


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a plain view failed")


urlpatterns = [
    path("api/v1/test-failing", FailingApiView.as_view()),
    path("api/v1/test-failing-plain", failing_view),
    path("test-failing-page", failing_view),
    *urlpatterns,
]
