from django import template
from django.utils.translation import pgettext

from apps.subscriptions.models import AccountStatus, ServiceAccount

register = template.Library()


@register.filter
def label(value: object) -> str:
    """A model's choice label in the current language (the labels are listed in labels.py)."""
    return pgettext("choice", str(value))


@register.filter
def status_label(value: object) -> str:
    """An account status as stored ("pending") in the current language ("Pendiente")."""
    try:
        name = AccountStatus(str(value)).label
    except ValueError:
        return str(value or "")
    return pgettext("choice", name)


@register.filter
def plan_periods(account: ServiceAccount) -> int:
    """The account's auto-renewal period in periods of the plan it renews on."""
    plan = account.next_plan or account.plan
    return max(1, account.renewal_period_months // plan.duration_months)

