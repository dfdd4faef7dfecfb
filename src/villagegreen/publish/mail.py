"""E-mail: one multipart/alternative message (text/plain Markdown, then sanitised text/html) over SMTP.

The Message-ID is derived from the item and its content hash, so a re-send after a lost answer
is recognisable as the same message by the receiving lists. ``starttls = true`` upgrades the
connection before logging in; ``username`` with the password in ``token_env`` logs in.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from villagegreen.errors import ConfigError, InputError, TransientError
from villagegreen.publish.delivery import Delivery, Remote
from villagegreen.publish.formats import html_document
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

TIMEOUT = 30.0


def build_message(item: Item, target: Target) -> EmailMessage:
    sender = target.text("sender")
    message = EmailMessage(policy=SMTP)
    message["Subject"] = item.title
    message["From"] = sender
    message["To"] = ", ".join(target.get("recipients"))
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{item.kind}.{item.item_id}.{item.content_hash()[:16]}@{sender.rpartition('@')[2] or 'villagegreen'}>"
    message.set_content(item.markdown, charset="utf-8")
    message.add_alternative(html_document(item.title, item.html), subtype="html", charset="utf-8")
    return message


def prepare(item: Item, target: Target) -> Delivery:
    message = build_message(item, target)
    host, port = target.text("smtp_host"), int(target.get("smtp_port", 25))
    where = f"SMTP {host}:{port}{' (STARTTLS)' if target.get('starttls') else ''} MAIL FROM:<{target.text('sender')}> RCPT TO:" + ", ".join(
        f"<{r}>" for r in target.get("recipients"))  # fmt: skip
    return Delivery(where=where, body=message.as_string(), method="SMTP", url=f"{host}:{port}")


def send(delivery: Delivery, target: Target) -> Remote:
    host, port = target.text("smtp_host"), int(target.get("smtp_port", 25))
    password = target.secret() if target.get("username") else ""
    what = f"target {target.name!r} (SMTP {host}:{port})"
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
            if target.get("starttls"):
                smtp.starttls()
            if target.get("username"):
                smtp.login(target.text("username"), password)
            refused = smtp.sendmail(target.text("sender"), list(target.get("recipients")), delivery.body.encode())
    except smtplib.SMTPAuthenticationError:
        raise ConfigError(f"{what}: the server refused the login; check username and {target.get('token_env')}") from None
    except smtplib.SMTPRecipientsRefused:
        raise InputError(f"{what}: every recipient was refused; check recipients") from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as error:
        raise TransientError(f"{what}: cannot deliver ({type(error).__name__}); nothing was recorded, retry later") from None
    except smtplib.SMTPException as error:
        raise InputError(f"{what}: the server refused the message ({type(error).__name__}); check the target's settings") from None
    except OSError as error:  # after SMTPException, which is an OSError too
        raise TransientError(f"{what}: cannot reach the server ({error.strerror or type(error).__name__}); nothing was recorded, retry later") from None
    # Some recipients refused, others accepted: it was sent, so it is recorded (never sent twice).
    note = f"{len(refused)} recipient(s) refused: {', '.join(sorted(refused))}" if refused else None
    message_id = next((line.split(":", 1)[1].strip() for line in delivery.body.splitlines() if line.lower().startswith("message-id:")), None)
    return Remote(message_id, None, note)
