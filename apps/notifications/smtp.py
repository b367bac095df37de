"""Django's SMTP backend, keeping the server's answer to the message.

smtplib reads the reply to DATA ("250 2.0.0 Ok: queued as 4Xk2") and drops it;
the test email shows it, as proof of where the email went.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.mail.backends import smtp
from django.core.mail.message import EmailMessage


class _KeepReply:
    last_data_reply: tuple[int, bytes] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        reply: tuple[int, bytes] = super().data(msg)  # type: ignore[misc]
        self.last_data_reply = reply
        return reply


class _SMTP(_KeepReply, smtplib.SMTP):
    pass


class _SMTPSSL(_KeepReply, smtplib.SMTP_SSL):
    pass


class ReplyKeepingEmailBackend(smtp.EmailBackend):
    """After each message, `last_reply` is the server's answer to it ("250 Ok: queued as ...")."""

    last_reply = ""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTPSSL if self.use_ssl else _SMTP

    def _send(self, email_message: EmailMessage) -> bool:
        sent = super()._send(email_message)  # type: ignore[misc]
        reply = getattr(self.connection, "last_data_reply", None)
        if sent and reply is not None:
            code, text = reply
            self.last_reply = f"{code} {text.decode(errors='replace')}".strip()
        return bool(sent)
