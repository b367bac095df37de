from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.models import AppendOnlyError
from apps.subscriptions.services import account_suspend, plan_create

from ..conftest import NOW, staff


def test_a_staff_action_is_audited_with_actor_ip_before_and_after(active_account) -> None:
    billing = staff(active_account.reseller, "billing")
    assert billing.user is not None
    actor = Actor.for_user(billing.user, ip="203.0.113.7")
    account_suspend(actor=actor, account=active_account, reason="abuse", now=NOW)
    row = AuditEntry.objects.get(action="account.suspend")
    assert (row.actor_type, row.actor_user, row.ip) == ("user", billing.user, "203.0.113.7")
    assert row.reseller_id == active_account.reseller_id
    assert (row.object_type, row.object_id) == ("subscriptions.serviceaccount",
                                               str(active_account.pk))
    assert row.before is not None and row.after is not None
    assert (row.before["status"], row.after["status"]) == ("active", "suspended")


def test_api_keys_and_the_system_are_actors_too(reseller) -> None:
    key = Actor.for_api_key(key_id=42, prefix="bp_live_abc", reseller_id=reseller.pk)
    plan_create(actor=key, reseller=reseller, name="From the API")
    row = AuditEntry.objects.get(action="plan.create")
    assert (row.actor_type, row.actor_api_key_id, row.actor_label) == (
        "api_key", 42, "api_key:bp_live_abc")


def test_audit_rows_are_append_only(reseller) -> None:
    plan_create(actor=Actor.system(), reseller=reseller, name="P")
    row = AuditEntry.objects.get(action="plan.create")
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=row.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'x' WHERE id = %s", [row.pk])
