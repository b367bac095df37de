"""Demo data: a provider admin, two resellers with staff of every role, plans, about
200 subscribers in every status, and a credit history.

`demo` is a reseller in good health: a balance well above its credit floor,
nothing waiting for credits, email delivery to the panel's own backend and an
outbox of sent mail, a few accounts in each status and CRM notes. `demo-two`
is one that needs attention: below its floor, activations waiting for credits,
no email delivery (the dashboard's red banner), failed payments.

Idempotent: every object is found or made by a stable key (email, slug, plan
name, external id, ledger idempotency key), settings change only when they
differ, so running it again creates nothing twice, and a run stopped halfway
finishes on the next.

It lives in the dashboard app, the top layer, because it calls every app's
services (notifications, CRM and payments sit above subscriptions).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Sum
from django.test.utils import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Reseller, Role, StaffMembership, User
from apps.accounts.services import reseller_create, staff_set_role
from apps.core.actors import Actor
from apps.core.dates import add_months
from apps.credits.services import credits_grant
from apps.crm.models import Note
from apps.crm.services import note_add
from apps.notifications.models import Delivery, OutboxMessage, OutboxStatus
from apps.notifications.services import (
    delivery_configured,
    notification_settings_for,
    notification_settings_update,
    outbox_deliver,
)
from apps.payments.charges import (
    payment_record_manual,
    payment_refund,
    renewal_price,
    wallet_top_up,
)
from apps.payments.services import dunning_attempt_failed
from apps.subscriptions.models import (
    AccountStatus,
    DunningCase,
    OperationStatus,
    PendingOperation,
    Plan,
    ServiceAccount,
    Subscriber,
    SubscriptionSettings,
)
from apps.subscriptions.services import (
    account_create,
    account_expire,
    account_renew,
    account_suspend,
    account_terminate,
    credits_for,
    plan_create,
    subscriber_create,
)
from apps.subscriptions.services.settings import subscription_settings_update

from ...models import ResellerSecurity

SEED = Actor.system("seed_demo")
PLANS = [("Monthly", 1, {"EUR": 900, "USD": 1000}), ("Quarterly", 3, {"EUR": 2500, "USD": 2700}),
         ("Half-year", 6, {"EUR": 4800, "USD": 5200}), ("Yearly", 12, {"EUR": 9000, "USD": 9900})]
CREDIT_FLOOR = 50
DAY = 24  # hours

# What each demo account becomes, by its expiry relative to now, in hours. The
# accounts after these are active, with expiries spread up to 400 days ahead.
HEALTHY_HEAD = [
    *[("terminated", -days * DAY) for days in (40, 25, 12, 9)],
    *[("suspended", -days * DAY) for days in (3, 4, 5, 6)],
    ("suspended_by_hand", 90 * DAY),
    *[("grace", -hours) for hours in (6, 12, 24, 36)],
    *[("expiring", days * DAY) for days in (1, 2, 3, 4, 5, 6)],
]
UNHEALTHY_HEAD = [
    *[("terminated", -days * DAY) for days in (30, 10)],
    *[("suspended", -days * DAY) for days in (3, 5, 6)],
    *[("payment_failed_grace", -hours) for hours in (10, 30)],
    *[("payment_failed", days * DAY) for days in (1, 2)],
    *[("expiring", days * DAY) for days in (3, 5)],
]
NOTES = [
    ("grace", "Called about the renewal: pays by bank transfer on Friday.", True),
    ("suspended", "Asked to keep the account suspended while travelling; renew on return.",
     False),
    ("expiring", "Wants to move to the yearly plan at the next renewal.", False),
    ("active", "Set up on a second TV; the app works on both.", False),
]


@dataclass(frozen=True)
class Spec:
    slug: str
    name: str
    base_currency: str
    timezone: str
    country: str
    subscribers: int
    healthy: bool
    head: list[tuple[str, int]]
    # Credits left over once every seeded account is paid for.
    spare_credits: int
    pending: int = 0


RESELLERS = [
    Spec(slug="demo", name="Demo Streaming Reseller", base_currency="EUR",
         timezone="Europe/Madrid", country="ES", subscribers=140, healthy=True,
         head=HEALTHY_HEAD, spare_credits=240),
    Spec(slug="demo-two", name="Second Demo Reseller", base_currency="USD",
         timezone="America/New_York", country="US", subscribers=60, healthy=False,
         head=UNHEALTHY_HEAD, spare_credits=7, pending=6),
]
FIRST_NAMES = ["Ana", "Luis", "María", "John", "Chloé", "Omar", "Sofia", "Pedro", "Emma", "Noah",
               "Lucía", "Hugo", "Olivia", "Mateo", "Aisha", "Liam", "Valentina", "Marco"]
LAST_NAMES = ["García", "Smith", "Martínez", "Dubois", "Rossi", "Khan", "López", "Müller",
              "Silva", "Brown", "Fernández", "Nakamura"]


@dataclass
class Slot:
    """One demo account to make: its plan, what it becomes, and where its expiry lands."""

    plan: Plan
    target: str
    offset_hours: int
    periods: int = 1


@dataclass
class Seeded:
    """What one reseller looks like once seeded, for the summary."""

    reseller: Reseller
    by_target: dict[str, list[ServiceAccount]] = field(default_factory=dict)


class Command(BaseCommand):
    help = "Load demo data (safe to run again: nothing is created twice)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mail-dir", default=str(Path(settings.VAR_DIR) / "demo-mail"),
            help="Where the healthy demo's emails sent at seed time are written "
                 "(one file each), so that they do not flood the terminal.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or "demo-panel-2026"
        mail_dir = Path(options["mail_dir"])
        today = timezone.now().replace(microsecond=0)
        admin = self._user("admin@provider.example", password, is_staff=True, superuser=True)
        sent_at_seed = 0
        # The seed delivers the healthy demo's emails itself, below, each at the time it
        # was written: no Celery task is queued for them.
        with override_settings(NOTIFICATIONS_DISPATCH=False):
            for spec in RESELLERS:
                reseller = self._reseller(spec)
                users = {}
                for role in Role.values:
                    user = self._user(f"{role}@{spec.slug}.example", password)
                    users[role] = user
                    if not StaffMembership.objects.filter(user=user, reseller=reseller).exists():
                        staff_set_role(actor=SEED, reseller=reseller, user=user, role=role)
                self._settings(reseller, spec)
                plans = self._plans(reseller)
                seeded = self._accounts(reseller, plans, spec, today)
                if spec.healthy:
                    self._notes(seeded, users[Role.SUPPORT], today)
                    self._panel_payments(reseller, users[Role.BILLING])
                    sent_at_seed += self._deliver(reseller, mail_dir)
                else:
                    self._failed_payments(seeded, today)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self._summary(password, admin, sent_at_seed, mail_dir)

    # ------------------------------------------------------------ objects

    def _user(self, email: str, password: str, *, is_staff: bool = False,
              superuser: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            if superuser:
                user = User.objects.create_superuser(email, password)
            else:
                user = User.objects.create_user(email, password, is_staff=is_staff)
        return user

    def _reseller(self, spec: Spec) -> Reseller:
        reseller = Reseller.objects.filter(slug=spec.slug).first()
        if reseller is None:
            reseller = reseller_create(
                actor=SEED, name=spec.name, slug=spec.slug,
                contact_email=f"billing@{spec.slug}.example",
                base_currency=spec.base_currency, timezone=spec.timezone,
                country=spec.country,
            )
        return reseller

    def _settings(self, reseller: Reseller, spec: Spec) -> None:
        """The credit floor for both; email to the panel's own backend for the healthy one,
        set before its accounts exist so that their emails are queued, not held."""
        config = SubscriptionSettings.objects.filter(reseller=reseller).first()
        if config is None or config.credit_floor != CREDIT_FLOOR:
            subscription_settings_update(actor=SEED, reseller=reseller,
                                         credit_floor=CREDIT_FLOOR)
        if spec.healthy and notification_settings_for(reseller.pk).delivery != Delivery.PANEL:
            notification_settings_update(
                actor=SEED, reseller=reseller, delivery=Delivery.PANEL,
                sender_name=reseller.name, sender_email=f"hello@{spec.slug}.example",
            )

    def _plans(self, reseller: Reseller) -> list[Plan]:
        plans = []
        for name, months, prices in PLANS:
            plan = Plan.objects.filter(reseller=reseller, name=name).first()
            if plan is None:
                plan = plan_create(actor=SEED, reseller=reseller, name=name,
                                   duration_months=months, prices=prices,
                                   tier="standard")
            plans.append(plan)
        return plans

    # ------------------------------------------------------------ accounts

    def _layout(self, plans: list[Plan], spec: Spec, today: dt.datetime) -> list[Slot]:
        count = spec.subscribers
        rest = count - len(spec.head) - spec.pending
        slots = [Slot(plans[i % len(plans)], target, hours)
                 for i, (target, hours) in enumerate(spec.head)]
        for n in range(rest):
            days = 8 + (392 * n) // max(rest - 1, 1)
            slots.append(Slot(plans[(len(slots)) % len(plans)], "active", days * DAY))
        longest = max(plans, key=lambda p: p.duration_months)
        slots += [Slot(longest, "pending", 0) for _ in range(spec.pending)]
        for slot in slots:
            expires = today + dt.timedelta(hours=slot.offset_hours)
            while add_months(expires, -slot.plan.duration_months * slot.periods) > today:
                slot.periods += 1
        return slots

    def _accounts(self, reseller: Reseller, plans: list[Plan], spec: Spec,
                  today: dt.datetime) -> Seeded:
        rng = random.Random(spec.slug)  # noqa: S311 (demo data, not security)
        slots = self._layout(plans, spec, today)
        needed = sum(credits_for(s.plan, s.plan.duration_months) * s.periods
                     for s in slots if s.target != "pending")
        # The provider sold credits in a few purchases over the past year.
        self._credit_history(reseller, needed + spec.spare_credits, today)
        seeded = Seeded(reseller)
        for i, slot in enumerate(slots):
            external_id = f"{spec.slug}-{i + 1:04d}"
            subscriber = Subscriber.objects.filter(reseller=reseller,
                                                   external_id=external_id).first()
            account = subscriber.accounts.first() if subscriber is not None else None
            if account is None:
                with transaction.atomic():
                    account = self._one_account(reseller, slot, rng, i, external_id, today,
                                                subscriber)
            seeded.by_target.setdefault(slot.target, []).append(account)
            if (i + 1) % 20 == 0 or i + 1 == len(slots):
                self.stdout.write(f"  {reseller.slug}: subscribers {i + 1}/{len(slots)}",
                                  ending="\r")
        self.stdout.write("")
        if spec.healthy:
            self._top_up(reseller, spec, today)
        return seeded

    def _credit_history(self, reseller: Reseller, total: int, today: dt.datetime) -> None:
        parts = [total // 2, total // 3, total - total // 2 - total // 3]
        for n, amount in enumerate(parts):
            if amount <= 0:
                continue
            credits_grant(
                actor=SEED, reseller=reseller, amount=amount,
                reference=f"DEMO-INV-{reseller.slug}-{n + 1}",
                idempotency_key=f"seed:{reseller.slug}:purchase:{n + 1}",
                price_amount=amount * 450, price_currency=reseller.base_currency,
                now=today - dt.timedelta(days=420 - n * 30),
            )

    def _top_up(self, reseller: Reseller, spec: Spec, today: dt.datetime) -> None:
        """A database seeded by an older version left the healthy demo short: buy the rest once."""
        reseller.refresh_from_db()
        short = CREDIT_FLOOR + spec.spare_credits - reseller.credit_balance
        if reseller.credit_balance <= CREDIT_FLOOR and short > 0:
            credits_grant(actor=SEED, reseller=reseller, amount=short,
                          reference=f"DEMO-INV-{reseller.slug}-top-up",
                          idempotency_key=f"seed:{reseller.slug}:top-up",
                          price_amount=short * 450, price_currency=reseller.base_currency,
                          now=today)

    def _one_account(self, reseller: Reseller, slot: Slot, rng: random.Random, i: int,
                     external_id: str, today: dt.datetime,
                     subscriber: Subscriber | None) -> ServiceAccount:
        plan = slot.plan
        expires = today + dt.timedelta(hours=slot.offset_hours)
        created = add_months(expires, -plan.duration_months * slot.periods)
        if slot.target == "pending":
            created = today - dt.timedelta(hours=1 + i % 24)
        if subscriber is None:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            consent = rng.random() < 0.4
            subscriber = subscriber_create(
                actor=SEED, reseller=reseller, name=f"{first} {last}",
                email=f"{external_id}@subscribers.example", phone=f"+34 600 {i:06d}",
                country=reseller.country, external_id=external_id,
                marketing_consent=consent,
                marketing_consent_source="signup form" if consent else "",
                now=created,
            )
        if slot.target == "pending":
            account, _ = account_create(actor=SEED, subscriber=subscriber, plan=plan, now=created)
            return account
        account, _ = account_create(actor=SEED, subscriber=subscriber, plan=plan, now=created,
                                    auto_renew=rng.random() < 0.7)
        for n in range(1, slot.periods):
            # Renewed a few days before each expiry, and never in the future.
            renewed_at = min(add_months(created, n * plan.duration_months)
                             - dt.timedelta(days=3), today - dt.timedelta(hours=slot.periods - n))
            account_renew(actor=SEED, account=account, now=renewed_at,
                          idempotency_key=f"seed:{n}")
        return self._settle_status(account, slot.target, today)

    def _settle_status(self, account: ServiceAccount, target: str,
                       today: dt.datetime) -> ServiceAccount:
        """Walk the account to the status its slot names, each step at the time it happened."""
        expires = account.expires_at
        if target == "suspended_by_hand":
            return account_suspend(actor=SEED, account=account, reason="abuse report",
                                   now=today - dt.timedelta(hours=5))
        if target not in ("grace", "payment_failed_grace", "suspended", "terminated") \
                or expires is None:
            return account
        account = account_expire(actor=SEED, account=account, now=expires)
        if target in ("suspended", "terminated"):
            account = account_suspend(actor=SEED, account=account, reason="grace over",
                                      now=expires + dt.timedelta(hours=48))
        if target == "terminated":
            account = account_terminate(actor=SEED, account=account, reason="demo",
                                        now=today - dt.timedelta(hours=1))
        return account

    # ------------------------------------------------------------ the healthy demo's extras

    def _notes(self, seeded: Seeded, author: User, today: dt.datetime) -> None:
        actor = Actor.for_user(author)
        for n, (target, body, pinned) in enumerate(NOTES):
            accounts = seeded.by_target.get(target) or []
            if not accounts:
                continue
            subscriber = accounts[0].subscriber
            if not Note.objects.filter(subscriber=subscriber, body=body).exists():
                note_add(actor=actor, subscriber=subscriber, body=body, pinned=pinned,
                         now=today - dt.timedelta(days=n + 1, hours=3))

    def _deliver(self, reseller: Reseller, mail_dir: Path) -> int:
        """Send the healthy demo's queued emails through the outbox, each at the time it was
        written, so the outbox reads like a history of sent mail. The panel's backend is the
        console; at seed time the emails go to files instead, to keep the logins readable."""
        queued = list(OutboxMessage.objects.filter(reseller=reseller, status=OutboxStatus.QUEUED)
                      .order_by("created_at", "id").values_list("pk", "next_attempt_at"))
        sent = 0
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                               EMAIL_FILE_PATH=str(mail_dir)):
            for message_id, due in queued:
                if outbox_deliver(message_id=message_id, now=due) == OutboxStatus.SENT:
                    sent += 1
        return sent

    # ------------------------------------------------------------ the unhealthy demo's extras

    def _failed_payments(self, seeded: Seeded, today: dt.datetime) -> None:
        """Auto-renewal collections that failed: the dunning rules take it from here."""
        for target in ("payment_failed_grace", "payment_failed"):
            for account in seeded.by_target.get(target) or []:
                if account.expires_at is None or DunningCase.objects.filter(
                    account=account
                ).exists():
                    continue
                failed_at = min(account.expires_at - dt.timedelta(days=2),
                                today - dt.timedelta(hours=2))
                dunning_attempt_failed(
                    actor=SEED, account=account, period=account.expires_at,
                    error="Card declined: insufficient funds (demo)", now=failed_at,
                )

    def _panel_payments(self, reseller: Reseller, billing: User) -> None:
        """Money taken by hand for the first account's subscriber: cash into the wallet, part
        of it refunded, a bank transfer that renewed the account. Fixed keys: a second seed
        replays them instead of paying again."""
        account = (ServiceAccount.objects.filter(subscriber__reseller=reseller)
                   .select_related("subscriber").order_by("pk").first())
        if account is None:
            return
        actor = Actor.for_user(billing)
        subscriber = account.subscriber
        cash = wallet_top_up(actor=actor, subscriber=subscriber, amount=3000,
                             currency=account.currency, source="cash", reference="CASH-0001",
                             idempotency_key="demo-cash-1").payment
        payment_refund(actor=actor, payment=cash, amount=500, destination="outside",
                       idempotency_key="demo-refund-1", reason="Charged twice (demo)")
        if account.status in (AccountStatus.ACTIVE, AccountStatus.GRACE):
            payment_record_manual(actor=actor, subscriber=subscriber,
                                  amount=renewal_price(account, account.plan.duration_months)[0],
                                  currency=account.currency, source="bank_transfer",
                                  reference="TR-2026-0042", idempotency_key="demo-transfer-1",
                                  account=account, months=account.plan.duration_months)

    # ------------------------------------------------------------ the summary

    def _summary(self, password: str, admin: User, sent_at_seed: int, mail_dir: Path) -> None:
        out = self.stdout.write
        out(f"Logins (password: {password}):")
        for spec in RESELLERS:
            reseller = Reseller.objects.get(slug=spec.slug)
            out(f"  {reseller.name}: owner@{spec.slug}.example   (the dashboard, at /)")
            out(f"    {self._health(reseller)}")
        out(f"  provider admin: {admin.email}   (the provider's admin, at /admin/)")
        out("  every role signs in too: owner, admin, billing, support, viewer "
            "@demo.example and @demo-two.example")
        if sent_at_seed:
            out(f"  {sent_at_seed} emails of the healthy demo were sent through the outbox now, "
                f"written to {mail_dir}/ instead of this terminal;")
            out("    new ones go to the panel's own backend, the console of the web and worker.")
        for line in self._two_factor_lines():
            out(line)

    def _health(self, reseller: Reseller) -> str:
        reseller.refresh_from_db()
        waiting = PendingOperation.objects.filter(
            reseller=reseller, livemode=True, status=OperationStatus.WAITING
        ).aggregate(credits=Sum("credits"))["credits"] or 0
        outbox = OutboxMessage.objects.filter(reseller=reseller, livemode=True)
        failed = DunningCase.objects.filter(reseller=reseller, livemode=True).count()
        floor = "above" if reseller.credit_balance >= CREDIT_FLOOR else "below"
        parts = [f"{reseller.credit_balance} credits, {floor} its floor of {CREDIT_FLOOR}",
                 f"{waiting} credits waiting"]
        if delivery_configured(notification_settings_for(reseller.pk)):
            parts.append(f"email to the panel's console backend, "
                         f"{outbox.filter(status=OutboxStatus.SENT).count()} sent")
        else:
            held = outbox.filter(status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND).count()
            parts.append(f"no email delivery: {held} emails not sent")
        parts.append(f"{failed} failed payments")
        states = dict.fromkeys(AccountStatus.values, 0)
        for status in ServiceAccount.objects.filter(reseller=reseller).values_list("status",
                                                                                   flat=True):
            states[status] += 1
        parts.append(", ".join(f"{n} {status}" for status, n in states.items()))
        return "; ".join(parts)

    def _two_factor_lines(self) -> list[str]:
        """Whether a demo user needs a TOTP code: the truth of the database, not a promise."""
        demo = [f"{role}@{spec.slug}.example" for spec in RESELLERS for role in Role.values]
        devices = list(TOTPDevice.objects.filter(user__email__in=demo, confirmed=True)
                       .select_related("user").order_by("user__email", "id"))
        required = list(ResellerSecurity.objects.filter(
            reseller__slug__in=[s.slug for s in RESELLERS], require_2fa=True
        ).values_list("reseller__name", flat=True))
        with_device = {d.user.email for d in devices}
        lines = ["Two-factor:"]
        if len(with_device) < len(demo):
            others = "the other demo users" if with_device else "demo users"
            lines.append(f"  {others} sign in without a TOTP code (none of them has an "
                         "authenticator app set up); add one at /security/2fa/.")
        for name in required:
            lines.append(f"  {name} requires 2FA: its staff without an authenticator app set "
                         "one up right after signing in.")
        for device in devices:
            secret = base64.b32encode(device.bin_key).decode()
            lines.append(f"  {device.user.email} signs in with a TOTP code: secret {secret}")
            lines.append(f"    {device.config_url}")
        return lines
