"""Matrix rooms: client-server API JSON (/messages pages, /sync responses) and Element's JSON export."""

from villagegreen.connectors.matrix.connector import MatrixConnector

__all__ = ["MatrixConnector"]
