from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Reseller
from apps.core.actors import Actor
from apps.core.errors import DomainError
from apps.notifications.services import send_test_email


class Command(BaseCommand):
    help = "Send a test email through a reseller's own email settings and report the outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reseller", metavar="SLUG", required=True)
        parser.add_argument("--to", metavar="ADDRESS", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        reseller = Reseller.objects.filter(slug=options["reseller"]).first()
        if reseller is None:
            raise CommandError(f"No reseller with slug {options['reseller']!r}.")
        try:
            result = send_test_email(actor=Actor.system("send_test_email"), reseller=reseller,
                                     to=options["to"])
        except DomainError as error:
            raise CommandError(error.message) from None
        if not result.ok:
            raise CommandError(f"Not sent: {result.message}")
        self.stdout.write(f"{result.message} Message id: {result.provider_message_id}")
