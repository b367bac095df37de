from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Reseller
from apps.subscriptions.sweep import sweep


class Command(BaseCommand):
    help = ("Run the renewal sweep once: auto-renewals, expiry, grace, suspension, termination, "
            "reminders and credit-floor alerts.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="Sweep as if it were this ISO-8601 time (with offset).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what is due; change nothing.")
        parser.add_argument("--reseller", metavar="SLUG", help="Only this reseller.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            now = parse_datetime(options["now"])
            if now is None:
                raise CommandError(f"--now {options['now']!r} is not an ISO-8601 date and time.")
            if now.tzinfo is None:
                raise CommandError("--now needs a timezone offset (2026-03-10T12:00:00+00:00).")
        slug = options["reseller"]
        if slug and not Reseller.objects.filter(slug=slug).exists():
            raise CommandError(f"No reseller with slug {slug!r}.")

        def progress(line: str) -> None:
            self.stderr.write(line)

        report = sweep(now=now, dry_run=options["dry_run"], reseller_slug=slug,
                       progress=progress if options["verbosity"] >= 1 else None)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), default=str))
            return
        if report.locked_out:
            raise CommandError("Another sweep is running; try again when it ends.")
        when = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        verb = "Would do" if report.dry_run else "Done"
        self.stdout.write(
            f"{verb} at {when} over {report.resellers} "
            f"reseller{'' if report.resellers == 1 else 's'} in {report.seconds}s: "
            f"renewed {report.renewed}, waiting for credits {report.renewal_queued}, "
            f"payment failed {report.payment_failed}, expired {report.expired}, "
            f"suspended {report.suspended + report.dunning_suspended}, "
            f"terminated {report.terminated + report.dunning_terminated}, "
            f"reminders {report.reminders + report.dunning_reminders}, "
            f"credit-floor alerts {report.credit_floor_alerts}, skipped {report.skipped}, "
            f"errors {report.errors}."
        )
        for message in report.error_messages[:20]:
            self.stderr.write(f"error: {message}")
        if report.errors:
            raise CommandError(f"{report.errors} item{'' if report.errors == 1 else 's'} failed; "
                               "run the sweep again to retry.")
