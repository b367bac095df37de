"""Every dashboard endpoint, the permission it needs, and how to call it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.accounts.permissions import Perm


@dataclass(frozen=True)
class Endpoint:
    name: str
    perm: Perm
    method: str = "get"
    # Which object of the world the URL takes: subscriber, account, plan, note,
    # interaction, user (a staff member), mode ("test"), or none.
    obj: str = ""
    data: tuple[tuple[str, Any], ...] = ()


ENDPOINTS = [
    Endpoint("overview", Perm.VIEW),
    Endpoint("billing", Perm.CREDITS_VIEW),
    Endpoint("ledger_csv", Perm.CREDITS_VIEW),
    Endpoint("subscribers", Perm.VIEW),
    Endpoint("subscribers_export", Perm.SUBSCRIBER_MANAGE),
    Endpoint("subscribers_bulk", Perm.VIEW, "post", data=(("action", "none"),)),
    Endpoint("expiring", Perm.VIEW),
    Endpoint("subscriber", Perm.VIEW, obj="subscriber"),
    Endpoint("subscriber_edit", Perm.SUBSCRIBER_MANAGE, "post", "subscriber",
             (("name", "Ana"),)),
    Endpoint("note_add", Perm.CRM_MANAGE, "post", "subscriber", (("body", "hello"),)),
    Endpoint("interaction_add", Perm.CRM_MANAGE, "post", "subscriber",
             (("channel", "email"), ("subject", "Cannot log in"))),
    Endpoint("device_add", Perm.CRM_MANAGE, "post", "subscriber", (("device_type", "TV"),)),
    Endpoint("note_edit", Perm.CRM_MANAGE, "post", "note", (("toggle_pin", "1"),)),
    Endpoint("interaction_resolve", Perm.CRM_MANAGE, "post", "interaction",
             (("resolution", "Reset the app"),)),
    Endpoint("account_new", Perm.ACCOUNT_CREATE),
    Endpoint("reveal", Perm.CREDENTIALS_REVEAL, "post", "account"),
    Endpoint("renew", Perm.ACCOUNT_RENEW, "post", "account"),
    Endpoint("change_plan", Perm.ACCOUNT_CHANGE_PLAN, "post", "account",
             (("plan", "PLAN"), ("when", "renewal"))),
    Endpoint("suspend", Perm.ACCOUNT_SUSPEND, "post", "account"),
    Endpoint("unsuspend", Perm.ACCOUNT_SUSPEND, "post", "account"),
    Endpoint("terminate", Perm.ACCOUNT_TERMINATE, "post", "account", (("confirm", "1"),)),
    Endpoint("reset_password", Perm.ACCOUNT_RESET_PASSWORD, "post", "account"),
    Endpoint("welcome", Perm.CREDENTIALS_REVEAL, "post", "account"),
    Endpoint("welcome_status", Perm.ACCOUNT_CREATE, obj="account"),
    Endpoint("renewal_source", Perm.ACCOUNT_AUTO_RENEW, "post", "account",
             (("renewal_source", "external"),)),
    Endpoint("follow_up", Perm.SUBSCRIBER_MANAGE, "post", "account", (("note", "call"),)),
    Endpoint("queue", Perm.VIEW),
    Endpoint("plans", Perm.VIEW),
    Endpoint("plan_new", Perm.PLAN_MANAGE),
    Endpoint("plan_edit", Perm.PLAN_MANAGE, obj="plan"),
    Endpoint("plan_archive", Perm.PLAN_MANAGE, "post", "plan"),
    Endpoint("settings", Perm.SETTINGS_MANAGE),
    Endpoint("settings_reseller", Perm.SETTINGS_MANAGE),
    Endpoint("settings_subscription", Perm.SETTINGS_MANAGE),
    Endpoint("settings_notifications", Perm.SETTINGS_MANAGE),
    Endpoint("settings_template", Perm.SETTINGS_MANAGE),
    Endpoint("settings_api", Perm.API_KEYS_MANAGE),
    Endpoint("settings_payments", Perm.PAYMENTS_SETTINGS),
    Endpoint("settings_payments", Perm.PAYMENTS_SETTINGS, "post",
             data=(("mode", "test"), ("test-publishable_key", "pk_test_1"),
                   ("test-secret_key", "sk_test_1"))),
    Endpoint("settings_payments_check", Perm.PAYMENTS_SETTINGS, "post", "mode"),
    Endpoint("settings_payments_remove", Perm.PAYMENTS_SETTINGS, "post", "mode"),
    Endpoint("settings_staff", Perm.STAFF_MANAGE),
    Endpoint("settings_security", Perm.SECURITY_MANAGE),
    Endpoint("settings_logo", Perm.SETTINGS_MANAGE, "post", data=(("action", "remove"),)),
    Endpoint("outbox_message", Perm.SETTINGS_MANAGE, obj="outbox"),
    Endpoint("settings_reseller", Perm.SETTINGS_MANAGE, "post",
             data=(("timezone", "UTC"), ("contact_email", "a@b.example"),
                   ("reactivation_policy", "from_expiry"))),
    Endpoint("settings_test_email", Perm.SETTINGS_MANAGE, "post", data=(("to", "a@b.example"),)),
    Endpoint("settings_subscription", Perm.SETTINGS_MANAGE, "post",
             data=(("reminder_offsets", "7, 1"), ("grace_hours", 48),
                   ("termination_after_days", 30), ("renewal_lead_days", 0),
                   ("dunning_reminder_days", 1), ("dunning_suspend_days", 3),
                   ("dunning_terminate_days", 30), ("credit_floor", 5))),
    Endpoint("settings_notifications", Perm.SETTINGS_MANAGE, "post",
             data=(("delivery", "none"), ("smtp_port", 587), ("smtp_security", "starttls"))),
    Endpoint("settings_template", Perm.SETTINGS_MANAGE, "post",
             data=(("event", "welcome"), ("subject", "Hi"), ("text", "Hello"),
                   ("action", "preview"))),
    Endpoint("settings_template_load", Perm.SETTINGS_MANAGE, data=(("event", "welcome"),)),
    Endpoint("api_key_create", Perm.API_KEYS_MANAGE, "post",
             data=(("name", "Billing"), ("mode", "test"), ("scopes", "accounts:read"))),
    Endpoint("api_key_revoke", Perm.API_KEYS_MANAGE, "post", "api_key"),
    Endpoint("api_key_rotate", Perm.API_KEYS_MANAGE, "post", "api_key"),
    Endpoint("webhook_create", Perm.API_KEYS_MANAGE, "post",
             data=(("url", "https://hooks.example/x"), ("events", "account.created"),
                   ("mode", "live"))),
    Endpoint("webhook_delete", Perm.API_KEYS_MANAGE, "post", "endpoint"),
    Endpoint("webhook_redeliver", Perm.API_KEYS_MANAGE, "post", "delivery"),
    Endpoint("settings_security", Perm.SECURITY_MANAGE, "post"),
    Endpoint("staff_invite", Perm.STAFF_MANAGE, "post",
             data=(("email", "new@staff.example"), ("role", "support"))),
    Endpoint("staff_role", Perm.STAFF_MANAGE, "post", "user", (("role", "viewer"),)),
    Endpoint("staff_remove", Perm.STAFF_MANAGE, "post", "user"),
    Endpoint("audit", Perm.AUDIT_VIEW),
    Endpoint("account_subscriber_search", Perm.ACCOUNT_CREATE, data=(("q", "an"),)),
    Endpoint("activate", Perm.ACCOUNT_CREATE, "post", "account"),
    Endpoint("auto_renew", Perm.ACCOUNT_AUTO_RENEW, "post", "account", (("auto_renew", "0"),)),
    Endpoint("payments", Perm.PAYMENTS_VIEW),
    Endpoint("payment_record", Perm.PAYMENT_RECORD, "post", "subscriber",
             (("record-amount", "5.00"), ("record-currency", "EUR"), ("record-source", "cash"),
              ("record-reference", "R-1"), ("record-idempotency_key", "matrix"))),
    Endpoint("payment_refund", Perm.PAYMENT_REFUND, "post", "payment",
             (("REFUND-amount", "1.00"), ("REFUND-destination", "outside"),
              ("REFUND-idempotency_key", "matrix"))),
]

OBJECT_URLS = [e for e in ENDPOINTS if e.obj in {"subscriber", "account", "plan", "note",
                                                "interaction", "api_key", "endpoint",
                                                "delivery", "outbox", "payment"}]
POSTS = [e for e in ENDPOINTS if e.method == "post"]
