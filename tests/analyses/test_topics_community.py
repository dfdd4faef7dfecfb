"""An invented community with three known themes, shared by the topic and programme tests.

Bread baking, football and gardening, 12 conversations each over six months: gardening grows
month by month, football shrinks, baking stays level. Every text is invented from the word
lists below, so the theme of every conversation is known without looking at any output.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.fakes import JsonListConnector
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

THEMES = {
    "baking": ["sourdough starter", "bread flour", "the oven temperature", "proofing the dough", "yeast", "a crusty loaf", "kneading", "rye bread"],
    "football": ["the striker", "the referee", "the league table", "a penalty kick", "the goalkeeper", "the midfield", "offside", "the cup final"],
    "gardening": ["the tomato plants", "compost", "the soil", "watering the seedlings", "the raised bed", "pruning roses", "weeds", "planting seeds"],
}
QUESTIONS = ["How do I deal with {a} and {b}?", "Any advice on {a} when {b} goes wrong?", "What do you think about {a} and {b}?"]
REPLIES = ["I usually look at {a} first, then {b}.", "For me {a} matters more than {b}.", "Last season {a} and {b} were the main problem."]
# Conversations per theme in each of six months: gardening rises, football fades.
MONTHLY = {"baking": [2, 2, 2, 2, 2, 2], "football": [4, 3, 2, 1, 1, 1], "gardening": [1, 1, 1, 2, 3, 4]}
STORY = "I tried feeding the sourdough starter the night before baking and the loaf rose much better."
CHALLENGE = "But feeding the starter the night before doesn't work in a cold kitchen, the dough stays flat."


def build_items() -> tuple[list[dict[str, object]], dict[str, str]]:
    rng = random.Random(7)
    items: list[dict[str, object]] = []
    theme_of: dict[str, str] = {}
    users = ["ann", "bo", "cy", "dee", "ed"]
    for theme, per_month in MONTHLY.items():
        for month, count in enumerate(per_month):
            for n in range(count):
                root = f"{theme}-{month}-{n}"
                t = int(datetime(2024, month + 1, 3 + n * 3, 9, tzinfo=UTC).timestamp())
                a, b = rng.sample(THEMES[theme], 2)
                items.append({"id": root, "user": rng.choice(users), "t": t, "text": rng.choice(QUESTIONS).format(a=a, b=b)})
                theme_of[root] = theme
                for r in range(2):
                    a, b = rng.sample(THEMES[theme], 2)
                    items.append(
                        {"id": f"{root}-r{r}", "user": rng.choice(users), "t": t + 3600 * (r + 1), "parent": root, "text": rng.choice(REPLIES).format(a=a, b=b)}
                    )
    # Key-message uptake: one story and one challenge about feeding the starter.
    items.append({"id": "baking-0-0-story", "user": "dee", "t": int(datetime(2024, 1, 20, tzinfo=UTC).timestamp()), "parent": "baking-0-0", "text": STORY})
    items.append(
        {"id": "baking-1-0-challenge", "user": "ed", "t": int(datetime(2024, 2, 20, tzinfo=UTC).timestamp()), "parent": "baking-1-0", "text": CHALLENGE}
    )
    return items, theme_of


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, str]]]:
    """The store (conversation id -> theme is given by native root id, mapped through the store)."""
    items, theme_of = build_items()
    folder = tmp_path_factory.mktemp("themes")
    path = folder / "community.jsonlist"
    path.write_text(json.dumps(items))
    with Store.open(folder / "store.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        native = dict(store.con.execute("SELECT id, native_id FROM messages WHERE id = conversation_id").fetchall())
        yield store, {cid: theme_of[native_id] for cid, native_id in native.items()}


def test_the_invented_community_has_the_planned_shape() -> None:
    items, theme_of = build_items()
    assert Counter(theme_of.values()) == {"baking": 12, "football": 12, "gardening": 12}
    assert sum(1 for item in items if "parent" not in item) == 36
