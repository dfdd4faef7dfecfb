"""Conversations in flat channels (Discord, IRC, WhatsApp, Telegram, busy Slack channels).

Pure functions, no store access: :func:`disentangle` picks each message's parent, and
:func:`conversation_roots` turns parents into conversation roots; :func:`thread_messages`
applies both to one space's canonical messages (what connectors call; :func:`place_messages`
does the same without building Conversation records); :mod:`.scoring` holds the evaluation
metrics of Kummerfeld et al. (2019) used by ``benchmarks/disentangle.py``.
"""

from villagegreen.connectors.disentangle.apply import place_messages, thread_messages
from villagegreen.connectors.disentangle.threader import DEFAULT_WEIGHTS, ChatLine, Weights, conversation_roots, disentangle, time_gap_baseline

__all__ = ["DEFAULT_WEIGHTS", "ChatLine", "Weights", "conversation_roots", "disentangle", "place_messages", "thread_messages", "time_gap_baseline"]
