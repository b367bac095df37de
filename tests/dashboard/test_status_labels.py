"""Status names read in the page's language wherever they show, transitions included."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from apps.subscriptions.services import account_suspend
from tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def history(client, subscriber) -> str:
    page = client.get(reverse("dashboard:subscriber", args=[subscriber.pk])).content.decode()
    return re.sub(r"\s+", " ", page)


def test_a_status_change_reads_in_spanish_on_the_subscriber_page(world, signed_in):
    account_suspend(actor=SYSTEM, account=world.account)
    client = signed_in(world.reseller, "owner")
    assert "Active → Suspended" in history(client, world.subscriber)
    client.cookies["django_language"] = "es"
    page = history(client, world.subscriber)
    assert "Activa → Suspendida" in page
    assert "active → suspended" not in page and "Pendiente → Activa" in page


def test_the_outbox_column_for_the_recipient_is_destinatario_not_hasta(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.cookies["django_language"] = "es"
    page = client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk]))
    assert "<th>Destinatario</th>" in page.content.decode()
    # The ledger filter's "To" is a date, "until": it keeps "Hasta".
    billing = client.get(reverse("dashboard:billing")).content.decode()
    assert ">Hasta</label>" in billing


def test_the_status_filter_leaves_unknown_values_as_they_are():
    template = Template("{% load dash_tags %}{{ a|status_label }}|{{ b|status_label }}|"
                        "{{ c|status_label }}")
    with translation.override("es"):
        assert template.render(Context({"a": "grace", "b": "", "c": "odd"})) == "En gracia||odd"
