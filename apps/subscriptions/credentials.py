"""Service credentials: generated, strong, the password kept encrypted (never in clear)."""

from __future__ import annotations

import re
import secrets
import unicodedata

from apps.core.errors import ValidationError

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{3,39}$")
# No look-alike characters (0/O, 1/l/I): people read these passwords aloud.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
PASSWORD_LENGTH = 16


def generate_password() -> str:
    while True:
        password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def generate_username(hint: str) -> str:
    """A readable username from the subscriber's name, with random digits to keep it unique."""
    ascii_hint = unicodedata.normalize("NFKD", hint).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]", "", ascii_hint.lower())[:12] or "user"
    return f"{stem}{secrets.randbelow(900000) + 100000}"


def validate_username(username: object) -> str:
    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise ValidationError(
            "A username has 4 to 40 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            code="invalid_username",
            param="username",
        )
    return username
