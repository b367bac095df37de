"""Every form refuses a post without the CSRF token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import member
from .endpoints import POSTS
from .test_permissions import _objects, call

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("endpoint", POSTS, ids=lambda e: e.name)
def test_post_without_csrf_token_is_refused(world, endpoint):
    objects = _objects(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member(world.reseller, "owner"))
    response = call(client, endpoint, objects, world)
    assert response.status_code == 403
    assert b"CSRF" in response.content


@pytest.mark.parametrize("url", ["/signin/", "/signin/verify/", "/switch/", "/signout/",
                                 "/i18n/setlang/", "/password-reset/"])
def test_sign_in_forms_refuse_a_post_without_csrf_token(world, url):
    client = Client(enforce_csrf_checks=True)
    if url != "/signin/":
        client.force_login(member(world.reseller, "owner"))
    assert client.post(url, {}).status_code == 403


def test_post_with_the_token_is_accepted(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member(world.reseller, "owner"))
    page = client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk]))
    token = page.cookies["csrftoken"].value
    response = client.post(reverse("dashboard:note_add", args=[world.subscriber.pk]),
                           {"body": "ok", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
