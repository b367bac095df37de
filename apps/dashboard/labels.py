"""The foundation models' choice labels, listed so that makemessages finds them.

Templates translate them with the `label` filter (dash_tags).
"""

from django.utils.translation import pgettext_lazy

LABELS = [
    pgettext_lazy("choice", "Pending"),
    pgettext_lazy("choice", "Active"),
    pgettext_lazy("choice", "Grace"),
    pgettext_lazy("choice", "Suspended"),
    pgettext_lazy("choice", "Terminated"),
    pgettext_lazy("choice", "Created"),
    pgettext_lazy("choice", "Activated"),
    pgettext_lazy("choice", "Renewed"),
    pgettext_lazy("choice", "Renewal waiting for credits"),
    pgettext_lazy("choice", "Expired (grace)"),
    pgettext_lazy("choice", "Unsuspended"),
    pgettext_lazy("choice", "Plan changed"),
    pgettext_lazy("choice", "Plan change scheduled"),
    pgettext_lazy("choice", "Auto-renew changed"),
    pgettext_lazy("choice", "Password reset"),
    pgettext_lazy("choice", "Archived"),
    pgettext_lazy("choice", "Purchase"),
    pgettext_lazy("choice", "Activation"),
    pgettext_lazy("choice", "Renewal"),
    pgettext_lazy("choice", "Plan change"),
    pgettext_lazy("choice", "Refund"),
    pgettext_lazy("choice", "Adjustment"),
    pgettext_lazy("choice", "Reversal"),
    pgettext_lazy("choice", "Email"),
    pgettext_lazy("choice", "Phone"),
    pgettext_lazy("choice", "Chat"),
    pgettext_lazy("choice", "WhatsApp"),
    pgettext_lazy("choice", "Other"),
    pgettext_lazy("choice", "Open"),
    pgettext_lazy("choice", "Resolved"),
    pgettext_lazy("choice", "Owner"),
    pgettext_lazy("choice", "Admin"),
    pgettext_lazy("choice", "Billing"),
    pgettext_lazy("choice", "Support"),
    pgettext_lazy("choice", "Viewer"),
    pgettext_lazy("choice", "New period starts at the old expiry"),
    pgettext_lazy("choice", "New period starts at the renewal"),
    # apps.notifications: events, delivery, SMTP security and outbox states.
    pgettext_lazy("choice", "Welcome (with credentials)"),
    pgettext_lazy("choice", "Renewal reminder"),
    pgettext_lazy("choice", "Expired"),
    pgettext_lazy("choice", "Reactivated"),
    pgettext_lazy("choice", "Payment failed"),
    pgettext_lazy("choice", "Payment receipt"),
    pgettext_lazy("choice", "Payment needs confirming"),
    pgettext_lazy("choice", "Wallet top-up receipt"),
    pgettext_lazy("choice", "Refund issued"),
    pgettext_lazy("choice", "Payment disputed (to the reseller)"),
    pgettext_lazy("choice", "Credit floor reached (to the reseller)"),
    pgettext_lazy("choice", "Waiting for credits (to the reseller)"),
    pgettext_lazy("choice", "Test email"),
    pgettext_lazy("choice", "Not configured"),
    pgettext_lazy("choice", "The panel's own email backend (EMAIL_BACKEND)"),
    pgettext_lazy("choice", "SMTP server"),
    pgettext_lazy("choice", "Email service (django-anymail)"),
    pgettext_lazy("choice", "None"),
    pgettext_lazy("choice", "STARTTLS"),
    pgettext_lazy("choice", "SSL/TLS"),
    pgettext_lazy("choice", "Queued"),
    pgettext_lazy("choice", "Sending"),
    pgettext_lazy("choice", "Sent"),
    pgettext_lazy("choice", "Failed"),
    pgettext_lazy("choice", "Not sent: no email delivery set up"),
    pgettext_lazy("choice", "Not sent: too late to be useful"),
    pgettext_lazy("choice", "Not sent: event turned off"),
    pgettext_lazy("choice", "Outcome unknown (worker stopped while sending)"),
    pgettext_lazy("choice", "Not sent: discarded by the reseller"),
    # apps.api: API key modes and webhook delivery states ("Pending", "Failed" are above).
    pgettext_lazy("choice", "Live"),
    pgettext_lazy("choice", "Test"),
    pgettext_lazy("choice", "Succeeded"),
    # apps.subscriptions: the account event of account_set_renewal.
    pgettext_lazy("choice", "Renewal period or source changed"),
]

# apps.payments: payment states, sources and purposes, card statuses, wallet entry kinds,
# refund destinations and states ("Failed", "Succeeded", "Renewal", "Adjustment",
# "Reversal" are above). Listed once each, as the `label` filter translates them.
PAYMENT_LABELS = [
    pgettext_lazy("choice", "Processing"),
    pgettext_lazy("choice", "Needs authentication"),
    pgettext_lazy("choice", "Unknown"),
    pgettext_lazy("choice", "Partially refunded"),
    pgettext_lazy("choice", "Refunded"),
    pgettext_lazy("choice", "Disputed"),
    pgettext_lazy("choice", "Card"),
    pgettext_lazy("choice", "Wallet"),
    pgettext_lazy("choice", "Cash"),
    pgettext_lazy("choice", "Bank transfer"),
    pgettext_lazy("choice", "Billing system"),
    pgettext_lazy("choice", "Wallet top-up"),
    pgettext_lazy("choice", "Enabled"),
    pgettext_lazy("choice", "Disabled"),
    pgettext_lazy("choice", "Removed"),
    pgettext_lazy("choice", "Top-up"),
    pgettext_lazy("choice", "Renewal charge"),
    pgettext_lazy("choice", "Refund to wallet"),
    pgettext_lazy("choice", "To the card"),
    pgettext_lazy("choice", "To the wallet"),
    pgettext_lazy("choice", "Outside the panel"),
]

# The audit trail's action codes (apps.audit rows' `action`), as people read them.
# tests/dashboard/test_audit_log.py finds every code the services write and
# checks that each has a label here.
AUDIT_ACTIONS = {
    "account.create": pgettext_lazy("audit action", "Account created"),
    "account.activate": pgettext_lazy("audit action", "Account activated"),
    "account.renew": pgettext_lazy("audit action", "Account renewed"),
    "account.shorten": pgettext_lazy("audit action", "Account period shortened"),
    "account.expire": pgettext_lazy("audit action", "Account expired (grace period)"),
    "account.suspend": pgettext_lazy("audit action", "Account suspended"),
    "account.unsuspend": pgettext_lazy("audit action", "Account unsuspended"),
    "account.terminate": pgettext_lazy("audit action", "Account terminated"),
    "account.change_plan": pgettext_lazy("audit action", "Plan changed"),
    "account.schedule_plan_change": pgettext_lazy("audit action", "Plan change scheduled"),
    "account.set_auto_renew": pgettext_lazy("audit action", "Auto-renewal changed"),
    "account.set_renewal_source": pgettext_lazy("audit action", "Renewal source changed"),
    "account.set_renewal": pgettext_lazy("audit action", "Renewal period or source changed"),
    "account.reset_password": pgettext_lazy("audit action", "Password reset"),
    "account.reveal_credentials": pgettext_lazy("audit action", "Credentials revealed"),
    "account.welcome_email": pgettext_lazy("audit action", "Welcome email sent"),
    "account.reminder_email": pgettext_lazy("audit action", "Reminder email sent"),
    "credits.purchase": pgettext_lazy("audit action", "Credits purchased"),
    "credits.activation": pgettext_lazy("audit action", "Credits spent on an activation"),
    "credits.renewal": pgettext_lazy("audit action", "Credits spent on a renewal"),
    "credits.plan_change": pgettext_lazy("audit action", "Credits spent on a plan change"),
    "credits.refund": pgettext_lazy("audit action", "Credits refunded"),
    "credits.adjustment": pgettext_lazy("audit action", "Credits adjusted"),
    "credits.reversal": pgettext_lazy("audit action", "Credit movement reversed"),
    "wallet.top_up": pgettext_lazy("audit action", "Wallet topped up"),
    "wallet.renewal_charge": pgettext_lazy("audit action", "Renewal paid from the wallet"),
    "wallet.refund": pgettext_lazy("audit action", "Refund to the wallet"),
    "wallet.adjustment": pgettext_lazy("audit action", "Wallet adjusted"),
    "wallet.reversal": pgettext_lazy("audit action", "Wallet movement reversed"),
    "payment.record": pgettext_lazy("audit action", "Payment recorded"),
    "payment.top_up": pgettext_lazy("audit action", "Wallet top-up recorded"),
    "payment.refund": pgettext_lazy("audit action", "Payment refunded"),
    "payment.disputed": pgettext_lazy("audit action", "Payment disputed at the bank"),
    "payment.unapplied": pgettext_lazy("audit action", "Payment collected but not applied"),
    "payment.card_saved": pgettext_lazy("audit action", "Card saved"),
    "payment.card_removed": pgettext_lazy("audit action", "Card removed"),
    "subscriber.create": pgettext_lazy("audit action", "Subscriber created"),
    "subscriber.update": pgettext_lazy("audit action", "Subscriber changed"),
    "plan.create": pgettext_lazy("audit action", "Plan created"),
    "plan.update": pgettext_lazy("audit action", "Plan edited"),
    "plan.archive": pgettext_lazy("audit action", "Plan archived"),
    "plan.unarchive": pgettext_lazy("audit action", "Plan restored"),
    "plan.delete": pgettext_lazy("audit action", "Plan deleted"),
    "crm.note_add": pgettext_lazy("audit action", "Note added"),
    "crm.note_update": pgettext_lazy("audit action", "Note edited"),
    "crm.interaction_add": pgettext_lazy("audit action", "Interaction added"),
    "crm.interaction_resolve": pgettext_lazy("audit action", "Interaction resolved"),
    "crm.device_add": pgettext_lazy("audit action", "Device added"),
    "crm.follow_up_note": pgettext_lazy("audit action", "Follow-up note saved"),
    "crm.contacted": pgettext_lazy("audit action", "Marked as contacted"),
    "crm.contacted_clear": pgettext_lazy("audit action", "Contacted mark cleared"),
    "notifications.settings": pgettext_lazy("audit action", "Notification settings changed"),
    "notifications.template_save": pgettext_lazy("audit action", "Email template saved"),
    "notifications.test_email": pgettext_lazy("audit action", "Test email sent"),
    "notifications.backlog_send": pgettext_lazy("audit action", "Waiting emails sent"),
    "notifications.backlog_discard": pgettext_lazy("audit action", "Waiting emails discarded"),
    "subscriptions.settings": pgettext_lazy("audit action", "Subscription settings changed"),
    "stripe_keys.set": pgettext_lazy("audit action", "Stripe keys saved"),
    "stripe_keys.remove": pgettext_lazy("audit action", "Stripe keys removed"),
    "stripe_keys.check": pgettext_lazy("audit action", "Stripe connection tested"),
    "reseller.create": pgettext_lazy("audit action", "Reseller created"),
    "reseller.update": pgettext_lazy("audit action", "Reseller details changed"),
    "reseller.logo_set": pgettext_lazy("audit action", "Logo uploaded"),
    "reseller.logo_remove": pgettext_lazy("audit action", "Logo removed"),
    "staff.set_role": pgettext_lazy("audit action", "Staff role changed"),
    "staff.remove": pgettext_lazy("audit action", "Staff member removed"),
    "security.require_2fa": pgettext_lazy("audit action", "Two-factor requirement changed"),
    "user.2fa_enabled": pgettext_lazy("audit action", "Two-factor sign-in turned on"),
    "api_key.create": pgettext_lazy("audit action", "API key created"),
    "api_key.revoke": pgettext_lazy("audit action", "API key revoked"),
    "webhook_endpoint.create": pgettext_lazy("audit action", "Webhook endpoint added"),
    "webhook_endpoint.update": pgettext_lazy("audit action", "Webhook endpoint changed"),
    "webhook_endpoint.delete": pgettext_lazy("audit action", "Webhook endpoint deleted"),
    "webhook.redeliver": pgettext_lazy("audit action", "Webhook delivery sent again"),
}

# The audit trail's object types (a model's app_label.modelname), as people read them.
AUDIT_OBJECTS = {
    "subscriptions.serviceaccount": pgettext_lazy("audit object", "Account"),
    "subscriptions.subscriber": pgettext_lazy("audit object", "Subscriber"),
    "subscriptions.plan": pgettext_lazy("audit object", "Plan"),
    "subscriptions.subscriptionsettings": pgettext_lazy("audit object", "Subscription settings"),
    "credits.creditledgerentry": pgettext_lazy("audit object", "Credit movement"),
    "payments.externalpayment": pgettext_lazy("audit object", "Payment"),
    "payments.payment": pgettext_lazy("audit object", "Payment"),
    "payments.walletentry": pgettext_lazy("audit object", "Wallet movement"),
    "payments.stripekeys": pgettext_lazy("audit object", "Stripe keys"),
    "crm.note": pgettext_lazy("audit object", "Note"),
    "crm.supportinteraction": pgettext_lazy("audit object", "Interaction"),
    "crm.accountfollowup": pgettext_lazy("audit object", "Follow-up"),
    "crm.device": pgettext_lazy("audit object", "Device"),
    "notifications.notificationsettings": pgettext_lazy("audit object", "Notification settings"),
    "notifications.notificationtemplate": pgettext_lazy("audit object", "Email template"),
    "accounts.reseller": pgettext_lazy("audit object", "Reseller"),
    "accounts.staffmembership": pgettext_lazy("audit object", "Staff member"),
    "accounts.user": pgettext_lazy("audit object", "User"),
    "dashboard.resellersecurity": pgettext_lazy("audit object", "Security settings"),
    "api.apikey": pgettext_lazy("audit object", "API key"),
    "api.webhookendpoint": pgettext_lazy("audit object", "Webhook endpoint"),
    "api.webhookdelivery": pgettext_lazy("audit object", "Webhook delivery"),
}


def audit_action_label(code: str) -> str:
    """The action in the current language; a code no label names yet shows as it is."""
    label = AUDIT_ACTIONS.get(code)
    return str(label) if label is not None else code


def audit_object_label(object_type: str) -> str:
    label = AUDIT_OBJECTS.get(object_type)
    return str(label) if label is not None else object_type


# The audit filter's action list, grouped by what the codes start with.
AUDIT_GROUPS = [
    (pgettext_lazy("audit group", "Accounts"), ("account.",)),
    (pgettext_lazy("audit group", "Credits and payments"), ("credits.", "payment.", "wallet.")),
    (pgettext_lazy("audit group", "Subscribers and CRM"), ("subscriber.", "crm.")),
    (pgettext_lazy("audit group", "Plans"), ("plan.",)),
    (pgettext_lazy("audit group", "Settings and staff"),
     ("notifications.", "subscriptions.", "reseller.", "staff.", "security.", "user.",
      "stripe_keys.")),
    (pgettext_lazy("audit group", "API and webhooks"),
     ("api_key.", "webhook_endpoint.", "webhook.")),
]


def audit_action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every labelled action, grouped for a <select>, each group in label order."""
    groups = []
    for group, prefixes in AUDIT_GROUPS:
        codes = [(code, str(label)) for code, label in AUDIT_ACTIONS.items()
                 if code.startswith(prefixes)]
        groups.append((str(group), sorted(codes, key=lambda choice: choice[1])))
    return groups
