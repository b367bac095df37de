"""The Spanish catalogue is complete and compiled: no message left empty or fuzzy, and the .mo
the panel loads says what the .po says."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "es" / "LC_MESSAGES"


def _catalogue() -> Catalog:
    with (LOCALE / "django.po").open("rb") as handle:
        return read_po(handle, locale="es")


def _key(message: Message) -> str:
    msgid = str(message.id[0] if isinstance(message.id, tuple | list) else message.id)
    return f"{message.context}\x04{msgid}" if message.context else msgid


def test_every_spanish_message_is_translated_and_none_is_fuzzy() -> None:
    missing: list[str] = []
    fuzzy: list[str] = []
    for message in _catalogue():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            missing.append(_key(message))
        if message.fuzzy:
            fuzzy.append(_key(message))
    assert missing == []
    assert fuzzy == []


def test_the_compiled_catalogue_matches_the_source() -> None:
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    stale: list[str] = []
    for message in _catalogue():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            for index, string in enumerate(message.string or ()):
                if compiled.get((_key(message), index)) != string:
                    stale.append(_key(message))
        elif compiled.get(_key(message)) != message.string:
            stale.append(_key(message))
    assert stale == [], "run `manage.py compilemessages -l es`"
