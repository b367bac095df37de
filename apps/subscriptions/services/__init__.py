"""Every write of the subscriptions app, one module per use case.

- plans: plan_create, plan_update, plan_archive, plan_delete, plan_for_sale
- subscribers: subscriber_create, subscriber_update
- accounts: account_create, account_open (the subscriber found or created, then the
  account: the dashboard's and the API's create), account_activate, account_renew,
  account_renew_many (the dashboard's bulk renew), account_change_plan, account_suspend,
  account_unsuspend, account_terminate, account_expire, account_set_auto_renew,
  account_set_renewal (period and source), account_update_renewal (switch,
  period and source at once), account_reset_password, account_credentials_reveal (every reveal audited)
- pending: pending_queue_drain (activations and renewals waiting for credits)
- settings: subscription_settings_update (the reseller's lifecycle settings)

The names are re-exported here, so callers import them from
`apps.subscriptions.services`.
"""

from .accounts import (
    ACCOUNT_AUDIT_FIELDS,
    PUBLISHED_EVENTS,
    BulkRenewResult,
    RenewResult,
    SubscriberDetails,
    account_activate,
    account_change_plan,
    account_create,
    account_credentials_reveal,
    account_currency,
    account_expire,
    account_open,
    account_renew,
    account_renew_many,
    account_reset_password,
    account_set_auto_renew,
    account_set_renewal,
    account_set_renewal_source,
    account_shorten,
    account_suspend,
    account_terminate,
    account_unsuspend,
    account_update_renewal,
    credits_for,
    plan_for_sale,
)
from .pending import pending_queue_drain
from .plans import MAX_MONTHS, plan_archive, plan_create, plan_delete, plan_update
from .settings import subscription_settings_update
from .subscribers import SUBSCRIBER_FIELDS, subscriber_create, subscriber_update

__all__ = [
    "ACCOUNT_AUDIT_FIELDS",
    "MAX_MONTHS",
    "PUBLISHED_EVENTS",
    "SUBSCRIBER_FIELDS",
    "BulkRenewResult",
    "RenewResult",
    "SubscriberDetails",
    "account_activate",
    "account_change_plan",
    "account_create",
    "account_credentials_reveal",
    "account_currency",
    "account_expire",
    "account_open",
    "account_renew",
    "account_renew_many",
    "account_reset_password",
    "account_set_auto_renew",
    "account_set_renewal",
    "account_set_renewal_source", "account_shorten",
    "account_suspend",
    "account_terminate",
    "account_unsuspend",
    "account_update_renewal",
    "credits_for",
    "pending_queue_drain",
    "plan_archive",
    "plan_create",
    "plan_delete",
    "plan_for_sale",
    "plan_update",
    "subscriber_create",
    "subscriber_update",
    "subscription_settings_update",
]
