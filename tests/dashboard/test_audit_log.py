"""The audit log: every action in words (English and Spanish), a link to what changed,
filters by who, what and when, keyset pages, and queries that do not grow with rows."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import StaffMembership
from apps.accounts.services import reseller_update, staff_set_role
from apps.api.services.api_keys import api_key_create
from apps.audit.services import audit_record, audit_record_many
from apps.core.actors import Actor
from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.crm.services import note_add
from apps.dashboard.labels import AUDIT_ACTIONS, AUDIT_OBJECTS, audit_action_choices
from apps.dashboard.services import security_set_require_2fa
from apps.notifications.services import notification_template_save
from apps.payments.models import WalletEntryKind
from apps.subscriptions.services import plan_create
from tests.conftest import SYSTEM
from tests.factories import MembershipFactory, SubscriberFactory, UserFactory

from .conftest import make_account

pytestmark = pytest.mark.django_db

APPS = Path(__file__).resolve().parents[2] / "apps"
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")


def written_action_codes() -> set[str]:
    """Every action code the services write, read from their source."""
    codes: set[str] = set()
    account_actions: set[str] = set()
    for path in APPS.rglob("*.py"):
        if "migrations" in path.parts or "management" in path.parts:
            continue
        text = path.read_text()
        for line in re.findall(r"action=.*", text):
            codes |= set(re.findall(r'"([a-z0-9_]+\.[a-z0-9_]+)"', line))
        if "subscriptions" in path.parts:
            # `account.{action}`: _audit_account's and the transitions' own verbs.
            account_actions |= set(re.findall(r'_audit_account\(\w+, \w+, "([a-z_]+)"', text))
            account_actions |= set(re.findall(r'\baction="([a-z_]+)"', text))
    codes |= {f"account.{action}" for action in account_actions}
    codes |= {f"credits.{kind}" for kind in EntryKind.values}  # `credits.{kind}`
    codes |= {f"wallet.{kind}" for kind in WalletEntryKind.values}  # `wallet.{kind}`
    return codes


def test_every_action_code_the_services_write_has_a_label_in_both_languages():
    codes = written_action_codes()
    assert {"account.create", "account.suspend", "credits.purchase", "plan.unarchive",
            "crm.contacted_clear"} <= codes
    missing = codes - AUDIT_ACTIONS.keys()
    assert not missing, f"no label for {sorted(missing)} in apps/dashboard/labels.py"
    with translation.override("en"):
        english = {code: str(label) for code, label in AUDIT_ACTIONS.items()}
    with translation.override("es"):
        untranslated = [code for code, label in AUDIT_ACTIONS.items()
                        if str(label) == english[code]]
    assert not untranslated


def test_every_object_kind_has_a_spanish_name_and_every_action_is_in_the_filter():
    with translation.override("es"):
        assert str(AUDIT_OBJECTS["subscriptions.serviceaccount"]) == "Cuenta"
        assert str(AUDIT_OBJECTS["api.apikey"]) == "Clave de API"
    listed = {code for _, choices in audit_action_choices() for code, _ in choices}
    assert listed == set(AUDIT_ACTIONS)


def rows_of(page: str) -> list[str]:
    return re.findall(r'<tr data-testid="audit-row".*?</tr>', page, flags=re.S)


def test_actions_read_as_words_and_objects_link_to_their_pages(world, signed_in):
    client = signed_in(world.reseller, "owner")
    plan = plan_create(actor=SYSTEM, reseller=world.reseller, name="Yearly", duration_months=12)
    key, _ = api_key_create(actor=SYSTEM, reseller=world.reseller, name="whmcs", mode="live",
                            scopes=["accounts:read"])
    staff_set_role(actor=SYSTEM, reseller=world.reseller,
                   user=UserFactory.create(email="eva@alpha.example"), role="support")
    note_add(actor=SYSTEM, subscriber=world.subscriber, body="called")
    audit_record(actor=SYSTEM, reseller_id=world.reseller.pk, action="subscriber.update",
                 obj=world.subscriber)
    page = client.get(reverse("dashboard:audit")).content.decode()
    subscriber_url = reverse("dashboard:subscriber", args=[world.subscriber.pk])
    table = "".join(re.sub(r'title="[^"]*"', "", row) for row in rows_of(page))
    assert "account.create" not in table and "Account created" in table
    assert "subscriptions.serviceaccount" not in table
    assert (f'<a href="{subscriber_url}">Account {world.account.username}</a>' in page)
    assert f'<a href="{subscriber_url}">Subscriber {world.subscriber.name}</a>' in page
    assert (f'<a href="{reverse("dashboard:plan_edit", args=[plan.pk])}">Plan Yearly</a>'
            in page)
    # Settings objects link to their own tab, no longer to an anchor of one long page.
    assert f'<a href="{reverse("dashboard:settings_api")}">API key {key.pk}</a>' in page
    membership = StaffMembership.objects.get(user__email="eva@alpha.example")
    assert (f'<a href="{reverse("dashboard:settings_staff")}">Staff member {membership.pk}</a>'
            in page)
    assert "#api" not in page and "#staff" not in page
    assert "Account created" in page and "Plan created" in page and "API key created" in page
    # No page of its own: the kind in words and the id, as plain text.
    entry = CreditLedgerEntry.objects.filter(reseller=world.reseller).latest("id")
    assert any(f"<td>Credit movement {entry.pk}</td>" in row for row in rows_of(page))
    assert "Note added" in page


def test_the_audit_log_speaks_spanish(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.cookies["django_language"] = "es"
    page = client.get(reverse("dashboard:audit")).content.decode()
    assert "Cuenta creada" in page
    assert f"Cuenta {world.account.username}</a>" in page
    assert "Créditos gastados en una activación" in page
    assert "Cualquier acción" in page


def test_filter_by_actor_action_and_the_resellers_days(world, signed_in):
    world.reseller.timezone = "Europe/Madrid"
    world.reseller.save(update_fields=["timezone"])
    owner = StaffMembership.objects.create(reseller=world.reseller,
                                           user=UserFactory.create(email="olga@alpha.example"),
                                           role="owner").user
    as_owner = Actor.for_user(owner)
    # 23:30 UTC on 1 March is 00:30 on 2 March in Madrid.
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    by_owner = audit_record(actor=as_owner, reseller_id=world.reseller.pk,
                            action="subscriber.update", obj=world.subscriber, now=late)
    by_system = audit_record(actor=SYSTEM, reseller_id=world.reseller.pk,
                             action="subscriber.update", obj=world.subscriber, now=late)
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:audit")

    def shown(**query) -> set[int]:
        page = client.get(url, query).content.decode()
        return {int(i) for i in re.findall(r'data-testid="audit-row" data-id="(\d+)"', page)}

    assert shown(actor=f"user:{owner.pk}") == {by_owner.pk}
    assert shown(actor="system", action="subscriber.update") == {by_system.pk}
    assert by_owner.pk not in shown(action="account.create")
    assert shown(date_from="2026-03-02", date_to="2026-03-02") == {by_owner.pk, by_system.pk}
    assert shown(date_from="2026-03-01", date_to="2026-03-01") == set()
    # The owner's filter choices are the reseller's own staff, keys and the system.
    page = client.get(url).content.decode()
    assert f'value="user:{owner.pk}"' in page and 'value="system"' in page
    other_user = MembershipFactory.create(reseller=world.other).user
    assert f'value="user:{other_user.pk}"' not in page


def test_bad_filters_say_what_is_wrong(world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:audit")
    backwards = client.get(url, {"date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert "The end date is before the start date." in backwards.content.decode()
    other_user = MembershipFactory.create(reseller=world.other).user
    foreign = client.get(url, {"actor": f"user:{other_user.pk}"}).content.decode()
    assert "Select a valid choice." in foreign
    unknown = client.get(url, {"action": "account.nonsense"}).content.decode()
    assert "Select a valid choice." in unknown


def test_another_resellers_rows_never_show(world, signed_in):
    theirs = audit_record(actor=SYSTEM, reseller_id=world.other.pk, action="subscriber.update",
                          obj=world.other_subscriber)
    page = signed_in(world.reseller, "owner").get(reverse("dashboard:audit")).content.decode()
    assert f'data-id="{theirs.pk}"' not in page
    assert world.other_subscriber.name not in page


def test_keyset_pages_show_every_row_once(world, signed_in):
    at = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    # 70 rows of one instant (one batch, as the sweep writes them): the id breaks the tie.
    audit_record_many(actor=SYSTEM, reseller_id=world.reseller.pk, action="account.expire",
                      changes=[(world.account, None, None)] * 70, now=at)
    client = signed_in(world.reseller, "owner")
    seen: list[int] = []
    url = reverse("dashboard:audit") + "?action=account.expire"
    for _ in range(3):
        page = client.get(url).content.decode()
        seen += [int(i) for i in re.findall(r'data-testid="audit-row" data-id="(\d+)"', page)]
        more = re.search(r'href="\?([^"]*after=[^"]*)">Older', page)
        if not more:
            break
        url = reverse("dashboard:audit") + "?" + more.group(1).replace("&amp;", "&")
    assert len(seen) == 70 and len(set(seen)) == 70
    assert seen == sorted(seen, reverse=True)
    assert "action=account.expire" in url


def add_rows(world, n: int) -> None:
    for i in range(n):
        subscriber = SubscriberFactory.create(reseller=world.reseller)
        make_account(world.reseller, world.plan, subscriber)
        plan_create(actor=SYSTEM, reseller=world.reseller, name=f"Plan {n}-{i}")
        api_key_create(actor=SYSTEM, reseller=world.reseller, name=f"k{n}-{i}", mode="live",
                       scopes=["accounts:read"])
        audit_record(actor=SYSTEM, reseller_id=world.reseller.pk, action="subscriber.update",
                     obj=subscriber)


def test_the_audit_page_costs_the_same_queries_at_few_rows_and_many(
        world, signed_in, django_assert_num_queries):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:audit")
    add_rows(world, 1)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_rows(world, 10)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("cursor", ["nonsense", "2026-03-01T12:00:00|5", "|", "2026-13-01|x"])
def test_a_cursor_this_page_did_not_write_starts_from_the_newest(world, signed_in, cursor):
    client = signed_in(world.reseller, "owner")
    newest = client.get(reverse("dashboard:audit")).content.decode()
    odd = client.get(reverse("dashboard:audit"), {"after": cursor})
    assert odd.status_code == 200
    assert rows_of(odd.content.decode()) == rows_of(newest)


def test_settings_objects_link_to_their_tab_only_for_a_role_that_may_open_it(world,
                                                                               signed_in):
    security_set_require_2fa(actor=SYSTEM, reseller=world.reseller, required=False)
    reseller_update(actor=SYSTEM, reseller=world.reseller, contact_email="a@alpha.example")
    notification_template_save(actor=SYSTEM, reseller=world.reseller, event="welcome",
                               subject="Hi", text="Hello", language="es")
    owner = signed_in(world.reseller, "owner").get(reverse("dashboard:audit")).content.decode()
    for tab in ("settings_security", "settings_reseller", "settings_template"):
        assert re.search(rf'<a href="{reverse(f"dashboard:{tab}")}">', owner), tab
    # An admin may read the audit log but not open the security tab: no link to a 403.
    admin = signed_in(world.reseller, "admin").get(reverse("dashboard:audit")).content.decode()
    assert f'href="{reverse("dashboard:settings_security")}"' not in \
        "".join(rows_of(admin))
    assert "Security settings" in admin
    assert re.search(rf'<a href="{reverse("dashboard:settings_reseller")}">', admin)
