"""Microsoft Teams channel and chat messages as Microsoft Graph returns them (chatMessage JSON)."""

from villagegreen.connectors.teams.connector import TeamsConnector

__all__ = ["TeamsConnector"]
