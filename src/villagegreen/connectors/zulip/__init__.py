"""Zulip: organisation exports (realm.json + messages-*.json) and saved GET /messages API pages."""

from villagegreen.connectors.zulip.connector import ZulipConnector

__all__ = ["ZulipConnector"]
