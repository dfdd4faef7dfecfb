"""A synthetic Slack export big enough that an import takes seconds and spans several batches.

Invented content in the documented export layout (channels.json, users.json, one folder per
channel with one JSON file per day). Every fifth message starts a thread and the next two reply
to it, so conversations, replies and the writer's batches are all exercised. The counts are
known from the construction, independently of the importer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2022, 1, 3, 9, tzinfo=UTC)


@dataclass(frozen=True)
class LargeExport:
    path: Path
    messages: int
    users: int
    channels: int
    threads: int


def write_large_slack(root: Path, messages: int = 60_000, users: int = 40, channels: int = 3, per_day: int = 400) -> LargeExport:
    root.mkdir(parents=True, exist_ok=True)
    user_ids = [f"U{n:04d}" for n in range(users)]
    (root / "users.json").write_text(json.dumps([{"id": u, "name": f"member{u}", "real_name": f"Member {u}"} for u in user_ids]), encoding="utf-8")
    names = [f"topic-{n}" for n in range(channels)]
    listing = [{"id": f"C{n:03d}", "name": name, "created": 1640000000, "creator": user_ids[0]} for n, name in enumerate(names)]
    (root / "channels.json").write_text(json.dumps(listing), encoding="utf-8")
    threads = 0
    written = 0
    day_index = 0
    while written < messages:
        day = START + timedelta(days=day_index)
        for channel in names:
            entries = []
            thread_ts = ""
            for slot in range(min(per_day, messages - written)):
                ts = f"{(day + timedelta(seconds=slot * 60)).timestamp():.6f}"
                entry = {"type": "message", "user": user_ids[(written + slot) % users], "text": f"message {written + slot} in {channel}", "ts": ts}
                if slot % 5 == 0:
                    thread_ts = ts
                    threads += 1
                elif slot % 5 in (1, 2):
                    entry["thread_ts"] = thread_ts
                entries.append(entry)
            if entries:
                folder = root / channel
                folder.mkdir(exist_ok=True)
                (folder / f"{day:%Y-%m-%d}.json").write_text(json.dumps(entries), encoding="utf-8")
            written += len(entries)
        day_index += 1
    return LargeExport(root, messages, users, channels, threads)
