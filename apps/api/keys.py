"""Key material: generation, hashing, webhook signatures. No database here."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 16  # "bp_live_" + 8 characters


def generate_key(mode: str) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(40))
    return f"bp_{mode}_{body}"


def hash_key(raw: str) -> str:
    # Keys carry 238 bits of randomness: a fast hash is enough, and lookups stay O(1).
    return hashlib.sha256(raw.encode()).hexdigest()


def prefix_of(raw: str) -> str:
    return raw[:PREFIX_LENGTH]


def generate_webhook_secret() -> str:
    return "whsec_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check (the recipe in the README): recompute and compare in constant time."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    expected = sign(secret, int(parts["t"]), body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


def ip_allowed(ip: str | None, allowed: list[str]) -> bool:
    if not allowed:
        return True
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allowed)
