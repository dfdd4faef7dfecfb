"""Mattermost: the bulk export (JSONL or mmctl's zip) and saved API v4 responses."""

from villagegreen.connectors.mattermost.connector import MattermostConnector

__all__ = ["MattermostConnector"]
