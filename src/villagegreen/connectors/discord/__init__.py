"""DiscordChatExporter JSON exports (one file per channel) as conversations, events and reactions."""

from villagegreen.connectors.discord.connector import DiscordConnector

__all__ = ["DiscordConnector"]
