"""Outgoing e-mail over SMTP (MAIL_SERVER). Without a server configured, mail is logged instead."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def masked_address(address: str) -> str:
    """An address as logs may show it: w***@example.com (a log is no place for personal data)."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; returns False when no mail server is configured."""
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        log.info("no MAIL_SERVER configured; mail to %s not sent", masked_address(to))
        return False
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=10) as smtp:
        smtp.send_message(message)
    return True
