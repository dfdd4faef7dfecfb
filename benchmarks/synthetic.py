"""Realistic synthetic communities in real export layouts, for scale benchmarks only.

Usage: python benchmarks/synthetic.py OUT --messages 100000 [--layout slack|mbox] [--seed 7]

Synthetic data shows how cost grows with size; correctness is shown on the real data. What
makes it realistic enough for timing:

- activity per person is heavy-tailed (Zipf, exponent 1.1: a few people write most messages);
- threads have geometric sizes (mean ~4 messages) and replies arrive after log-normal delays
  (median ~20 minutes);
- the text is drawn from real vocabulary: the words of the Conlang Stack Exchange dump shipped
  as the demo (CC BY-SA 3.0), with message lengths log-normal around 25 words;
- the Slack layout spreads messages over channel/day files as real exports do (1M messages over
  about 100k day files with the defaults), with users.json and channels.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from defusedxml import ElementTree

from villagegreen.interfaces.demo import demo_data_path

START = datetime(2020, 1, 1, tzinfo=UTC)
MESSAGES_PER_DAY_FILE = 10


def vocabulary() -> list[str]:
    rows = ElementTree.parse(demo_data_path() / "Posts.xml").getroot()
    bodies = " ".join(row.get("Body", "") for row in rows)
    return re.findall(r"[A-Za-z][a-z]{1,14}", re.sub(r"<[^>]+>", " ", bodies))


class Community:
    def __init__(self, messages: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary()
        self.people = max(20, int(messages ** 0.6))
        weights = [1 / (rank**1.1) for rank in range(1, self.people + 1)]
        total = sum(weights)
        self.cumulative = [sum(weights[: i + 1]) / total for i in range(self.people)]
        self.channels = max(1, messages // (MESSAGES_PER_DAY_FILE * 1000))
        self.days = max(1, messages // (MESSAGES_PER_DAY_FILE * self.channels))

    def person(self) -> int:
        point = self.rng.random()
        low, high = 0, self.people - 1
        while low < high:
            middle = (low + high) // 2
            if self.cumulative[middle] < point:
                low = middle + 1
            else:
                high = middle
        return low

    def text(self) -> str:
        length = max(1, int(self.rng.lognormvariate(math.log(25), 0.8)))
        return " ".join(self.rng.choice(self.words) for _ in range(length))

    def threads(self, messages: int):  # type: ignore[no-untyped-def]
        """Yields (channel, root_time, [(person, time, text), ...]) until ``messages`` are made."""
        made = 0
        while made < messages:
            channel = self.rng.randrange(self.channels)
            root_time = START + timedelta(seconds=self.rng.uniform(0, self.days * 86400))
            size = min(messages - made, 1 + int(self.rng.expovariate(1 / 3)))
            posts = []
            at = root_time
            for _ in range(size):
                posts.append((self.person(), at, self.text()))
                at += timedelta(minutes=self.rng.lognormvariate(math.log(20), 1.2))
            made += size
            yield channel, root_time, posts


def write_slack(out: Path, messages: int, seed: int) -> int:
    community = Community(messages, seed)
    users = [{"id": f"U{i:07d}", "name": f"member{i}", "real_name": f"Member {i}", "deleted": False, "is_bot": False} for i in range(community.people)]
    channels = [{"id": f"C{i:07d}", "name": f"channel-{i}", "created": int(START.timestamp()), "is_archived": False} for i in range(community.channels)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "users.json").write_text(json.dumps(users))
    (out / "channels.json").write_text(json.dumps(channels))
    days: dict[tuple[int, str], list[dict[str, object]]] = {}
    for channel, root_time, posts in community.threads(messages):
        thread_ts = f"{root_time.timestamp():.6f}"
        for index, (person, at, text) in enumerate(posts):
            ts = thread_ts if index == 0 else f"{at.timestamp():.6f}"
            message: dict[str, object] = {"type": "message", "user": f"U{person:07d}", "text": text, "ts": ts}
            if len(posts) > 1:
                message["thread_ts"] = thread_ts
            days.setdefault((channel, at.date().isoformat()), []).append(message)
    for (channel, day), day_messages in days.items():
        folder = out / f"channel-{channel}"
        folder.mkdir(exist_ok=True)
        day_messages.sort(key=lambda m: float(str(m["ts"])))
        (folder / f"{day}.json").write_text(json.dumps(day_messages))
    return len(days)


def write_mbox(out: Path, messages: int, seed: int) -> int:
    community = Community(messages, seed)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "list.mbox").open("w", encoding="utf-8") as mbox:
        for number, (_, _, posts) in enumerate(community.threads(messages)):
            root_id = f"<t{number}@example.org>"
            for index, (person, at, text) in enumerate(posts):
                message_id = root_id if index == 0 else f"<t{number}.{index}@example.org>"
                mbox.write(f"From member{person}@example.org {at:%a %b %d %H:%M:%S %Y}\n")
                mbox.write(f"From: Member {person} <member{person}@example.org>\nDate: {format_datetime(at)}\n")
                mbox.write(f"Subject: {'Re: ' if index else ''}thread {number}\nMessage-ID: {message_id}\n")
                if index:
                    mbox.write(f"In-Reply-To: {root_id}\nReferences: {root_id}\n")
                mbox.write(f"\n{text}\n\n")
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--layout", choices=("slack", "mbox"), default="slack")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files = (write_slack if args.layout == "slack" else write_mbox)(args.out, args.messages, args.seed)
    print(json.dumps({"out": str(args.out), "layout": args.layout, "messages": args.messages, "files": files}))


if __name__ == "__main__":
    main()
