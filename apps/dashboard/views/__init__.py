"""The reseller's pages, one module per area. Each view: the role matrix through
`dashboard_view`, reads through selectors, writes through services with the request's actor.

- overview: the overview page
- billing: the credit ledger and its CSV export
- subscribers: the subscriber list, its export, bulk actions, the expiring list
- subscriber_page: the subscriber page (CRM: contact details, notes, interactions, devices;
  recording a payment, refunding one)
- payments: the subscriber page's Payments section and the billing tab's payment list
- accounts: account actions and the new-account page
- renewals: the renewal queue
- plans: the plan list and form
- settings: the settings tabs (reseller and its logo, lifecycle, notifications and the test
  email, templates, security)
- payments_settings: the Payments tab: the reseller's Stripe keys per mode
- api_keys: the API tab: API keys and webhook endpoints
- staff: the staff tab: invitations, roles, removal
- audit: the audit trail
- email_backlog: the emails held while no delivery was set up (send, send recent, discard)
- _common: helpers the modules share

The views are re-exported here, so `urls.py` names them as `views.<name>`.
"""

from .accounts import (
    account_new_view,
    account_subscriber_search_view,
    activate_view,
    auto_renew_view,
    change_plan_view,
    follow_up_view,
    renew_view,
    renewal_source_view,
    reset_password_view,
    reveal_view,
    suspend_view,
    terminate_view,
    unsuspend_view,
    welcome_status_view,
    welcome_view,
)
from .api_keys import (
    api_key_create_view,
    api_key_revoke_view,
    api_key_rotate_view,
    settings_api_view,
    webhook_create_view,
    webhook_delete_view,
    webhook_redeliver_view,
)
from .audit import (
    audit_view,
)
from .billing import (
    billing_view,
    ledger_csv_view,
)
from .email_backlog import (
    email_backlog_discard_view,
    email_backlog_send_view,
    email_backlog_view,
)
from .overview import (
    overview_view,
)
from .payments import (
    payments_view,
)
from .payments_settings import (
    settings_payments_check_view,
    settings_payments_remove_view,
    settings_payments_view,
)
from .plans import (
    plan_archive_view,
    plan_edit_view,
    plans_view,
)
from .renewals import (
    queue_view,
)
from .settings import (
    outbox_message_view,
    reseller_logo_view,
    settings_logo_view,
    settings_notifications_view,
    settings_reseller_view,
    settings_security_view,
    settings_subscription_view,
    settings_template_default_view,
    settings_template_view,
    settings_test_email_view,
    settings_view,
)
from .staff import (
    settings_staff_view,
    staff_invite_view,
    staff_remove_view,
    staff_role_view,
)
from .subscriber_page import (
    device_add_view,
    interaction_add_view,
    interaction_resolve_view,
    note_add_view,
    note_edit_view,
    payment_record_view,
    payment_refund_view,
    subscriber_edit_view,
    subscriber_view,
)
from .subscribers import (
    expiring_view,
    subscribers_bulk_view,
    subscribers_export_view,
    subscribers_view,
)

__all__ = [
    "account_new_view",
    "account_subscriber_search_view",
    "activate_view",
    "api_key_create_view",
    "api_key_revoke_view",
    "api_key_rotate_view",
    "audit_view",
    "auto_renew_view",
    "billing_view",
    "change_plan_view",
    "device_add_view",
    "email_backlog_discard_view",
    "email_backlog_send_view",
    "email_backlog_view",
    "expiring_view",
    "follow_up_view",
    "interaction_add_view",
    "interaction_resolve_view",
    "ledger_csv_view",
    "note_add_view",
    "note_edit_view",
    "outbox_message_view",
    "overview_view",
    "payment_record_view",
    "payment_refund_view",
    "payments_view",
    "plan_archive_view",
    "plan_edit_view",
    "plans_view",
    "queue_view",
    "renew_view",
    "renewal_source_view",
    "reseller_logo_view",
    "reset_password_view",
    "reveal_view",
    "settings_api_view",
    "settings_logo_view",
    "settings_notifications_view",
    "settings_payments_check_view",
    "settings_payments_remove_view",
    "settings_payments_view",
    "settings_reseller_view",
    "settings_security_view",
    "settings_staff_view",
    "settings_subscription_view",
    "settings_template_default_view",
    "settings_template_view",
    "settings_test_email_view",
    "settings_view",
    "staff_invite_view",
    "staff_remove_view",
    "staff_role_view",
    "subscriber_edit_view",
    "subscriber_view",
    "subscribers_bulk_view",
    "subscribers_export_view",
    "subscribers_view",
    "suspend_view",
    "terminate_view",
    "unsuspend_view",
    "webhook_create_view",
    "webhook_delete_view",
    "webhook_redeliver_view",
    "welcome_status_view",
    "welcome_view",
]
