"""Emails in the recipient's language: a subscriber's in the subscriber's, the reseller's own
in the reseller's; the reseller's template in that language wins, then the panel's default in
that language, then English."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.core.errors import ValidationError
from apps.core.events import publishing_many
from apps.notifications.models import Event, NotificationTemplate, OutboxMessage
from apps.notifications.rendering import (
    SAMPLE_CONTEXT,
    default_template_exists,
    default_template_sources,
    render_event,
    render_subject,
    template_sources,
)
from apps.notifications.services import (
    notification_template_save,
    outbox_backlog_send,
    outbox_deliver_due,
    send_test_email,
)
from apps.subscriptions.models import Subscriber
from apps.subscriptions.services import (
    SubscriberDetails,
    account_create,
    account_open,
    subscriber_create,
    subscriber_update,
)

from ..api.conftest import assert_error, client_for, make_key
from ..conftest import NOW, SYSTEM, grant
from ..factories import MembershipFactory, SubscriberFactory
from ..mailserver import running_smtp_server
from .helpers import use_smtp


def _spanish(reseller: Reseller) -> Reseller:
    reseller.language = "es"
    reseller.save(update_fields=["language"])
    return reseller


def _welcome_row(reseller: Reseller, plan, subscriber: Subscriber) -> tuple[OutboxMessage, str]:
    grant(reseller, 1, now=NOW)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    return OutboxMessage.objects.get(account=account, event="welcome"), password


def test_a_spanish_subscriber_gets_the_spanish_subject_and_body(reseller, plan):
    ana = SubscriberFactory.create(reseller=reseller, name="Ana García", language="es")
    row, password = _welcome_row(reseller, plan, ana)
    assert (row.language, row.subject) == ("es", "Tu cuenta Monthly está lista")
    with running_smtp_server() as (catcher, port):
        use_smtp(reseller, port, now=NOW)
        outbox_backlog_send(actor=SYSTEM, reseller=reseller, now=NOW)
        outbox_deliver_due(now=NOW)
    sent = catcher.received[0]
    assert sent.subject == "Tu cuenta Monthly está lista"
    assert "Hola, Ana García:" in sent.text and f"Contraseña: {password}" in sent.text
    # Dates in Spanish words: the language is active while the email renders.
    assert "10 de abril de 2026" in sent.text
    assert 'lang="es"' in OutboxMessage.objects.get(pk=row.pk).html


def test_an_english_subscriber_of_the_same_reseller_still_gets_english(reseller, plan):
    SubscriberFactory.create(reseller=reseller, language="es")
    bob = SubscriberFactory.create(reseller=reseller, name="Bob", language="en")
    row, _ = _welcome_row(reseller, plan, bob)
    assert (row.language, row.subject) == ("en", "Your Monthly account is ready")
    assert "April 2026" in row.text


@pytest.mark.parametrize("event", Event.values)
def test_every_default_template_has_a_spanish_version_that_renders(db, event):
    assert default_template_exists(event, "es")
    english_subject, english_text = default_template_sources(event, "en")
    subject, text = default_template_sources(event, "es")
    assert (subject, text) != (english_subject, english_text)
    rendered = render_event(0, event, SAMPLE_CONTEXT, language="es")
    assert rendered.subject and rendered.text.strip()
    assert "{{" not in rendered.text and "{%" not in rendered.subject


def test_a_spanish_override_wins_for_spanish_subscribers_only(reseller, plan):
    notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome", language="es",
                               subject="¡Bienvenida, {{ subscriber_name }}!",
                               text="Clave: {{ password }}")
    es_row, password = _welcome_row(reseller, plan, SubscriberFactory.create(
        reseller=reseller, name="Ana", language="es"))
    en_row, _ = _welcome_row(reseller, plan, SubscriberFactory.create(
        reseller=reseller, language="en"))
    assert es_row.subject == "¡Bienvenida, Ana!" and es_row.text == f"Clave: {password}"
    assert en_row.subject == "Your Monthly account is ready"


def test_without_its_own_spanish_template_a_spanish_subscriber_gets_the_spanish_default(
    reseller, plan
):
    notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome", language="en",
                               subject="Welcome aboard", text="Hi")
    row, _ = _welcome_row(reseller, plan, SubscriberFactory.create(reseller=reseller,
                                                                  language="es"))
    assert row.subject == "Tu cuenta Monthly está lista"
    assert template_sources(reseller.pk, "welcome", "es").origin == "default"
    assert template_sources(reseller.pk, "welcome", "en").origin == "own"


@override_settings(LANGUAGES=[("en", "English"), ("es", "Español"), ("fr", "Français")])
def test_a_language_the_panel_has_no_default_for_falls_back_to_english(reseller):
    assert not default_template_exists("welcome", "fr")
    found = template_sources(reseller.pk, "welcome", "fr")
    assert (found.subject, found.origin) == ("Your {{ plan_name }} account is ready", "english")
    rendered = render_event(reseller.pk, "welcome", SAMPLE_CONTEXT, language="fr")
    assert rendered.subject == "Your Monthly account is ready"


def test_subjects_in_one_batch_are_remembered_per_language(reseller):
    with publishing_many():
        subjects = [render_subject(reseller.pk, "expired", {}, language=lang)
                    for lang in ("en", "es", "en", "es")]
    assert subjects == ["Your account has expired", "Tu cuenta ha caducado"] * 2


def test_a_template_override_in_an_unknown_language_is_refused(reseller):
    with pytest.raises(ValidationError) as refused:
        notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome",
                                   language="xx", subject="S", text="T")
    assert refused.value.code == "invalid_language"
    assert not NotificationTemplate.objects.exists()


def test_a_template_saved_without_a_language_is_in_the_resellers(reseller):
    _spanish(reseller)
    saved = notification_template_save(actor=SYSTEM, reseller=reseller, event="expired",
                                       subject="Caducada", text="Hola")
    assert saved.language == "es"


# ---------------------------------------------------------------- the reseller's own email


def test_new_subscribers_take_the_resellers_language_unless_told(reseller):
    _spanish(reseller)
    assert subscriber_create(actor=SYSTEM, reseller=reseller, name="A").language == "es"
    assert subscriber_create(actor=SYSTEM, reseller=reseller, name="B",
                             language="en").language == "en"
    with pytest.raises(ValidationError) as refused:
        subscriber_create(actor=SYSTEM, reseller=reseller, name="C", language="de")
    assert (refused.value.code, refused.value.param) == ("invalid_language", "language")
    sub = subscriber_create(actor=SYSTEM, reseller=reseller, name="D")
    assert subscriber_update(actor=SYSTEM, subscriber=sub, language="en").language == "en"
    with pytest.raises(ValidationError):
        subscriber_update(actor=SYSTEM, subscriber=sub, language="")


def test_emails_to_the_reseller_are_in_the_resellers_language(reseller, plan):
    _spanish(reseller)
    english = SubscriberFactory.create(reseller=reseller, language="en", name="Bob")
    account, _ = account_create(actor=SYSTEM, subscriber=english, plan=plan, now=NOW)
    assert account.status == "pending"  # no credits: the reseller is told
    row = OutboxMessage.objects.get(account=account, event="pending_credits")
    assert row.language == "es" and row.subject.startswith("Esperando créditos:")
    assert row.text.startswith("La activación de")

    with running_smtp_server() as (catcher, port):
        use_smtp(reseller, port, now=NOW)
        send_test_email(actor=SYSTEM, reseller=reseller, to="me@reseller.example", now=NOW)
    assert catcher.received[0].subject == f"Correo de prueba de {reseller.name}"


# ---------------------------------------------------------------- the API and the dashboard


@pytest.mark.django_db
def test_the_api_accepts_and_returns_language_and_refuses_an_unknown_one(reseller, plan):
    api = client_for(make_key(reseller))
    created = api.post("/api/v1/subscribers", {"name": "Ana", "language": "es"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["language"] == "es"
    sid = created.json()["id"]
    default = api.post("/api/v1/subscribers", {"name": "Bob"}, format="json").json()
    assert default["language"] == reseller.language == "en"
    patched = api.patch(f"/api/v1/subscribers/{sid}", {"language": "en"}, format="json")
    assert patched.json()["language"] == "en"
    assert api.get(f"/api/v1/subscribers/{sid}").json()["language"] == "en"

    error = assert_error(api.post("/api/v1/subscribers", {"name": "C", "language": "xx"},
                                  format="json"), 400)
    assert error["param"] == "language"
    error = assert_error(api.patch(f"/api/v1/subscribers/{sid}", {"language": "klingon"},
                                   format="json"), 400)
    assert error["param"] == "language"
    assert Subscriber.objects.get(pk=sid).language == "en"


def test_an_account_created_over_the_api_makes_a_subscriber_in_the_language_given(
    reseller, plan
):
    grant(reseller, 1)
    api = client_for(make_key(reseller))
    response = api.post("/api/v1/accounts", {"subscriber": {"external_id": "c-1",
                                                            "email": "c1@example.net",
                                                            "language": "es"},
                                             "plan": plan.pk}, format="json")
    assert response.status_code == 201, response.content
    row = OutboxMessage.objects.get(account_id=response.json()["id"], event="welcome")
    assert row.subject == "Tu cuenta Monthly está lista"
    account, _ = account_open(actor=SYSTEM, reseller=reseller, plan_id=plan.pk,
                              subscriber=SubscriberDetails(external_id="c-1", language="en"))
    # An existing subscriber keeps its own language.
    assert account.subscriber.language == "es"


def test_the_subscriber_form_edits_the_language(reseller):
    subscriber = SubscriberFactory.create(reseller=reseller, name="Ana", language="en")
    client = Client()
    client.force_login(MembershipFactory.create(reseller=reseller, role="owner").user)
    page = client.get(reverse("dashboard:subscriber", args=[subscriber.pk])).content.decode()
    assert 'name="language"' in page
    url = reverse("dashboard:subscriber_edit", args=[subscriber.pk])
    data = {"name": "Ana", "email": "", "phone": "", "country": "", "external_id": ""}
    assert client.post(url, {**data, "language": "es"}).status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.language == "es"
    bad = client.post(url, {**data, "language": "xx"})
    assert bad.status_code == 400 and "xx" in bad.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.language == "es"
