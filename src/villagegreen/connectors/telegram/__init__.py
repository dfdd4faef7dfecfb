"""Telegram Desktop JSON exports (``result.json``: one chat or a full account export)."""

from villagegreen.connectors.telegram.connector import TelegramConnector

__all__ = ["TelegramConnector"]
