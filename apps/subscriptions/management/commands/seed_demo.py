"""Demo data: a provider admin, two resellers with staff of every role, plans, about
200 subscribers in every status, and a credit history.

Idempotent: every object is found or made by a stable key (email, slug, plan
name, external id, ledger idempotency key), so running it again creates
nothing twice, and a run stopped halfway finishes on the next.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Reseller, Role, StaffMembership, User
from apps.accounts.services import reseller_create, staff_set_role
from apps.core.actors import Actor
from apps.core.dates import add_months
from apps.credits.services import credits_grant
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber
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

SEED = Actor.system("seed_demo")
PLANS = [("Monthly", 1, {"EUR": 900, "USD": 1000}), ("Quarterly", 3, {"EUR": 2500, "USD": 2700}),
         ("Half-year", 6, {"EUR": 4800, "USD": 5200}), ("Yearly", 12, {"EUR": 9000, "USD": 9900})]
RESELLERS = [
    {"slug": "demo", "name": "Demo Streaming Reseller", "base_currency": "EUR",
     "timezone": "Europe/Madrid", "country": "ES", "subscribers": 140},
    {"slug": "demo-two", "name": "Second Demo Reseller", "base_currency": "USD",
     "timezone": "America/New_York", "country": "US", "subscribers": 60},
]
FIRST_NAMES = ["Ana", "Luis", "María", "John", "Chloé", "Omar", "Sofia", "Pedro", "Emma", "Noah",
               "Lucía", "Hugo", "Olivia", "Mateo", "Aisha", "Liam", "Valentina", "Marco"]
LAST_NAMES = ["García", "Smith", "Martínez", "Dubois", "Rossi", "Khan", "López", "Müller",
              "Silva", "Brown", "Fernández", "Nakamura"]


class Command(BaseCommand):
    help = "Load demo data (safe to run again: nothing is created twice)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or "demo-panel-2026"
        today = timezone.now().replace(microsecond=0)
        admin = self._user("admin@provider.example", password, is_staff=True, superuser=True)
        for spec in RESELLERS:
            reseller = self._reseller(spec)
            for role in Role.values:
                user = self._user(f"{role}@{spec['slug']}.example", password)
                if not StaffMembership.objects.filter(user=user, reseller=reseller).exists():
                    staff_set_role(actor=SEED, reseller=reseller, user=user, role=role)
            plans = self._plans(reseller)
            self._accounts(reseller, plans, spec, today)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"Logins (password: {password}):\n"
            "  reseller owner:   owner@demo.example     (the dashboard, at /)\n"
            "  support agent:    support@demo.example\n"
            f"  provider admin:   {admin.email}   (the provider's admin, at /admin/)\n"
            "  (every role: owner, admin, billing, support, viewer @demo.example "
            "and @demo-two.example)"
        )

    def _user(self, email: str, password: str, *, is_staff: bool = False,
              superuser: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            if superuser:
                user = User.objects.create_superuser(email, password)
            else:
                user = User.objects.create_user(email, password, is_staff=is_staff)
        return user

    def _reseller(self, spec: dict[str, Any]) -> Reseller:
        reseller = Reseller.objects.filter(slug=spec["slug"]).first()
        if reseller is None:
            reseller = reseller_create(
                actor=SEED, name=spec["name"], slug=spec["slug"],
                contact_email=f"billing@{spec['slug']}.example",
                base_currency=spec["base_currency"], timezone=spec["timezone"],
                country=spec["country"],
            )
        return reseller

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

    def _accounts(self, reseller: Reseller, plans: list[Plan], spec: dict[str, Any],
                  today: dt.datetime) -> None:
        rng = random.Random(spec["slug"])  # noqa: S311 (demo data, not security)
        count = spec["subscribers"]
        pending_from = count - 6  # the last few wait for credits
        # The provider sold credits in a few purchases over the past year.
        needed = 0
        layout = []
        for i in range(count):
            plan = plans[i % len(plans)]
            offset_days = -10 + (410 * i) // max(count - 1, 1)
            periods = 1
            while add_months(today + dt.timedelta(days=offset_days), -plan.duration_months *
                             periods) > today:
                periods += 1
            layout.append((plan, offset_days, periods))
            if i < pending_from:
                needed += credits_for(plan, plan.duration_months) * periods
        self._credit_history(reseller, needed + 7, today)
        for i, (plan, offset_days, periods) in enumerate(layout):
            external_id = f"{spec['slug']}-{i + 1:04d}"
            subscriber = Subscriber.objects.filter(reseller=reseller,
                                                   external_id=external_id).first()
            if subscriber is not None and subscriber.accounts.exists():
                continue
            with transaction.atomic():
                self._one_account(reseller, plan, rng, i, external_id, offset_days, periods,
                                  today, subscriber, pending=i >= pending_from)
            if (i + 1) % 20 == 0 or i + 1 == count:
                self.stdout.write(f"  {reseller.slug}: subscribers {i + 1}/{count}", ending="\r")
        self.stdout.write("")

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

    def _one_account(self, reseller: Reseller, plan: Plan, rng: random.Random, i: int,
                     external_id: str, offset_days: int, periods: int, today: dt.datetime,
                     subscriber: Subscriber | None, *, pending: bool) -> None:
        expires = today + dt.timedelta(days=offset_days)
        created = add_months(expires, -plan.duration_months * periods)
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
        if pending:
            account, _ = account_create(actor=SEED, subscriber=subscriber, plan=plans_max(plan),
                                        now=today - dt.timedelta(hours=i % 24))
            return
        account, _ = account_create(actor=SEED, subscriber=subscriber, plan=plan, now=created,
                                    auto_renew=rng.random() < 0.7)
        for n in range(1, periods):
            # Renewed a few days before each expiry, and never in the future.
            renewed_at = min(add_months(created, n * plan.duration_months)
                             - dt.timedelta(days=3), today - dt.timedelta(hours=periods - n))
            account_renew(actor=SEED, account=account, now=renewed_at,
                          idempotency_key=f"seed:{n}")
        self._settle_status(account, rng, offset_days, today)

    def _settle_status(self, account: ServiceAccount, rng: random.Random, offset_days: int,
                       today: dt.datetime) -> None:
        """Walk the account to the status its expiry implies (and a few suspended by hand)."""
        expires = account.expires_at
        if offset_days < 0 and expires is not None:
            account = account_expire(actor=SEED, account=account, now=expires)
            if offset_days < -2:
                account = account_suspend(actor=SEED, account=account, reason="grace over",
                                          now=expires + dt.timedelta(hours=48))
                if offset_days < -7:
                    account_terminate(actor=SEED, account=account, reason="demo",
                                      now=today - dt.timedelta(hours=1))
        elif rng.random() < 0.05:
            account_suspend(actor=SEED, account=account, reason="abuse report", now=today)


def plans_max(plan: Plan) -> Plan:
    """The reseller's longest plan: what the pending demo accounts ordered."""
    return Plan.objects.filter(reseller_id=plan.reseller_id).order_by("-duration_months").first() \
        or plan
