"""Which module defines each top-level command, and its one-line help, without importing it.

``villagegreen --help`` lists every command from this table, and running a command imports only
the modules it names, so start-up does not pay for pandas, pyarrow, the web stack or the
analyses that other commands need (importing every command module cost ~0.9 CPU-s).

Each entry is (command name, the ``commands_*`` modules that register it or, for a group, any
of its subcommands, the first paragraph of its help). Order is the order ``--help`` lists them:
the everyday commands first, groups last (as Typer lists them). A ``commands_*`` module that is
not named here is still found and imported at start-up, so a new module works before it is
added; tests/interfaces/test_cli_lazy.py checks this table against the modules themselves.
"""

from __future__ import annotations

from typing import NamedTuple


class IndexedCommand(NamedTuple):
    name: str
    modules: tuple[str, ...]  # module names inside villagegreen.interfaces.cli
    help: str  # the first paragraph of the command's help, exactly as the command declares it


COMMANDS: tuple[IndexedCommand, ...] = (
    IndexedCommand("analyze", ("commands_analyze",), "Run every analysis and keep the results in the store."),
    IndexedCommand("health", ("commands_analyze",), "What is good, what needs attention and why; which spaces and conversations to look at."),
    IndexedCommand("sources", ("commands_data",), "List the communities imported into the store."),
    IndexedCommand("stats", ("commands_data",), "Per space: messages, people, conversations, date range and the share of replies."),
    IndexedCommand("export", ("commands_data",), "Export the store in an open format."),
    IndexedCommand("migrate", ("commands_data",), "Bring an older store's schema up to date (each migration is one transaction)."),
    IndexedCommand("import", ("commands_import",), "Import an export into the store: idempotent, and all or nothing."),
    IndexedCommand("platforms", ("commands_import",), "List the platforms and formats that `import` understands."),
    IndexedCommand("demo", ("commands_demo",), "Import, analyse and summarise a small real community shipped with Village Green."),
    IndexedCommand("story", ("commands_stories",), "Draft the attributed story of a conversation (or of several), every statement cited to its messages."),
    IndexedCommand(
        "digest",
        ("commands_memory",),
        "The week's digest: approved stories, threads ripe for wrap-up, unanswered questions with\n"
        "who could answer them, and health highlights; readable in an e-mail.",
    ),
    IndexedCommand(
        "search",
        ("commands_memory",),
        "Search the community's memory: conversations and approved stories, by words (BM25) and\n"
        "meaning (embeddings), grouped by conversation with passages in context and links.",
    ),
    IndexedCommand("audit", ("commands_privacy",), "The audit log of facilitator actions that touch people: who did what, when."),
    IndexedCommand("privacy", ("commands_privacy",), "What Village Green keeps and computes about members, in plain words (from the installed analyses)."),
    IndexedCommand("acts", ("commands_roles",), "Label every message with its dialogue act (question, answer, thanks...) and the rule that fired."),
    IndexedCommand("experts", ("commands_roles",), "Who could answer this? People ranked by their validated past answers to similar questions."),
    IndexedCommand("serve", ("commands_serve",), "Open the dashboard over a store (read-only except for merge decisions)."),
    IndexedCommand("sync", ("commands_sync",), "Fetch new messages from the live sources configured in villagegreen.toml (sources tables)."),
    IndexedCommand("embed", ("commands_topics",), "Embed every new or changed message (a second run embeds nothing), showing the rate."),
    IndexedCommand("topics", ("commands_topics",), "What the group actually talks about: emergent topics, their keyphrases, spaces and trend."),
    IndexedCommand("goals", ("commands_topics",), "Intended against actual: goals covered and gaps, topics nobody planned, key-message uptake, poll ideas."),
    IndexedCommand("tone", ("commands_topics",), "Tone arcs: which complaint threads turned into proposals, and which did not."),
    IndexedCommand(
        "people",
        ("commands_people", "commands_analyze", "commands_privacy", "commands_records", "commands_roles"),
        "People behind the accounts: merge suggestions, merges you can undo, and a per-source audit.",
    ),
    IndexedCommand("stories", ("commands_stories", "commands_memory"), "The editor's desk: saved story drafts, their versions and approval."),
    IndexedCommand("threads", ("commands_stories",), "Conversations: which have run their course and what to do about them."),
    IndexedCommand("publish", ("commands_publish",), "Post stories, wrap-up notes, topic polls and digests back to the platforms."),
    IndexedCommand("questions", ("commands_roles",), "Questions in the community and who could answer them."),
    IndexedCommand("users", ("commands_users",), "Dashboard accounts (needed to serve beyond 127.0.0.1)."),
)

BY_NAME: dict[str, IndexedCommand] = {command.name: command for command in COMMANDS}
INDEXED_MODULES: frozenset[str] = frozenset(module for command in COMMANDS for module in command.modules)
