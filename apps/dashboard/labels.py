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
]
