"""Connectors read an export or an API and yield canonical records; they never touch the store."""

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.registry import detect, get_connector, registered_connectors

__all__ = ["Connector", "ReadContext", "detect", "get_connector", "registered_connectors"]
