"""`manage.py create_api_key --reseller SLUG --mode live|test --scopes a,b --name NAME`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Reseller
from apps.api.services import api_key_create
from apps.core.actors import Actor
from apps.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an API key for a reseller and print it once (only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reseller", required=True, help="The reseller's slug.")
        parser.add_argument("--mode", required=True, choices=["live", "test"])
        parser.add_argument("--scopes", required=True, help="Comma-separated, e.g. accounts:read")
        parser.add_argument("--name", required=True)
        parser.add_argument("--allow-ip", action="append", default=[],
                            help="An address or network allowed to use the key (repeatable).")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        reseller = Reseller.objects.filter(slug=options["reseller"]).first()
        if reseller is None:
            raise CommandError(f"No reseller with slug {options['reseller']!r}.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        expires_at = None
        if options["expires_in_days"] is not None:
            from django.utils import timezone

            expires_at = timezone.now() + dt.timedelta(days=options["expires_in_days"])
        try:
            key, raw = api_key_create(
                actor=Actor.system("manage.py create_api_key"), reseller=reseller,
                name=options["name"], mode=options["mode"], scopes=scopes,
                allowed_ips=options["allow_ip"], expires_at=expires_at,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stderr.write(f"Key {key.prefix}… for {reseller.slug} ({key.mode}); "
                          "shown once, store it now:")
        self.stdout.write(raw)
