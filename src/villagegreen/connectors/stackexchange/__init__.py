"""Stack Exchange data dumps (Posts.xml, Users.xml, Comments.xml, Votes.xml ...) as Q&A conversations."""

from villagegreen.connectors.stackexchange.connector import StackExchangeConnector

__all__ = ["StackExchangeConnector"]
