"""Flat-channel disentanglement: the threader's behaviour and the metrics, on hand-made cases.

Every metric value below is worked out by hand in the comment beside it, from the
definitions in Kummerfeld et al. (2019)'s evaluation tools, not copied from a run.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.disentangle import ChatLine, conversation_roots, cues, disentangle, time_gap_baseline
from villagegreen.connectors.disentangle.scoring import (
    conversations,
    exact_match,
    link_scores,
    links_from_line,
    max_assignment,
    one_to_one,
    score,
    variation_of_information,
)

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def chat(*rows: tuple[int, str, str]) -> list[ChatLine]:
    """Lines from (minute, author, text); ids are their positions."""
    return [ChatLine(str(i), author, START + timedelta(minutes=minute), text) for i, (minute, author, text) in enumerate(rows)]


# -- metrics --------------------------------------------------------------------------------


def test_annotation_lines_link_the_later_message_to_the_earlier() -> None:
    assert links_from_line([1002, 1003]) == {(1003, 1002)}
    assert links_from_line([1005, 1005]) == {(1005, 1005)}  # a self link starts a conversation
    assert links_from_line([1003, 1007, 1005]) == {(1007, 1003), (1007, 1005)}


def test_link_scores_pool_files() -> None:
    gold = {"a": {(2, 2), (3, 2), (4, 3)}, "b": {(7, 7)}}
    system = {"a": {(2, 2), (3, 2), (4, 4)}, "b": {(7, 6)}}
    # 2 of the 4 system links are gold; 2 of the 4 gold links found: P = R = F = 50.
    assert link_scores(gold, system) == pytest.approx((50.0, 50.0, 50.0))


def test_conversations_are_components_cut_at_the_first_source() -> None:
    links = {(10, 10), (11, 10), (12, 12), (13, 5), (14, 13)}
    # 5 is context (before the first source, 10): it joins 13 and 14 but is not scored.
    assert conversations(links) == [frozenset({10, 11}), frozenset({12}), frozenset({13, 14})]


def test_variation_of_information_is_scaled_by_log_n() -> None:
    gold = {"f": [frozenset({1, 2}), frozenset({3, 4})]}
    system = {"f": [frozenset({1, 2, 3, 4})]}
    # H(joint) = 1 bit, H(system) = 0, H(gold) = 1, so I = 0 and VI = 1; log2(4) = 2: 100 * (1 - 1/2).
    assert variation_of_information(gold, system) == pytest.approx(50.0)
    assert variation_of_information(gold, gold) == pytest.approx(100.0)


def test_one_to_one_uses_the_best_pairing() -> None:
    gold = {"f": [frozenset({1, 2, 3}), frozenset({4})]}
    system = {"f": [frozenset({1, 2}), frozenset({3, 4})]}
    # Pair {1,2} with {1,2,3} (2 shared) and {3,4} with {4} (1 shared): 3 of 4 messages.
    assert one_to_one(gold, system) == pytest.approx(75.0)


def test_exact_match_leaves_singletons_out() -> None:
    gold = {"f": [frozenset({1, 2}), frozenset({3, 4}), frozenset({5})]}
    system = {"f": [frozenset({1, 2}), frozenset({3}), frozenset({4, 5})]}
    # Non-singletons: gold 2, system 2, one identical ({1,2}): P = R = F = 50.
    assert exact_match(gold, system) == pytest.approx((50.0, 50.0, 50.0))


def test_score_of_gold_against_itself_is_perfect_and_coverage_is_checked() -> None:
    gold = {"f": {(10, 10), (11, 10), (12, 12), (13, 11)}}
    assert set(score(gold, gold).to_dict().values()) == {100.0}
    with pytest.raises(ValueError, match="same messages"):
        score(gold, {"f": {(10, 10), (11, 10)}})


# -- cues -----------------------------------------------------------------------------------


def test_cues_read_addresses_and_names() -> None:
    assert cues.addressee("Rowan: try sudo") == "rowan"
    assert cues.addressee("@Rowan#1234 try sudo") == "rowan"
    assert cues.addressee("rowan, try sudo") == "rowan"
    assert cues.addressee("try sudo") is None
    assert cues.normal_name("Rowan#1234") == "rowan"
    assert "rowan" in cues.name_tokens("thanks @Rowan!")
    assert cues.words("The kernel panics, the KERNEL!") == ["kernel", "panics", "kernel"]


# -- threader -------------------------------------------------------------------------------


def test_an_addressed_message_answers_the_addressees_latest_message() -> None:
    lines = chat(
        (0, "ash", "how do I mount a usb drive?"),
        (0, "birch", "anyone know why my wifi drops every hour?"),
        (1, "cedar", "ash: use the file manager, or mount /dev/sdb1 /mnt"),
        (1, "dale", "birch: check dmesg for the wifi driver"),
    )
    parents = disentangle(lines)
    assert parents["2"] == "0"
    assert parents["3"] == "1"
    roots = conversation_roots(parents)
    assert roots == {"0": "0", "1": "1", "2": "0", "3": "1"}


def test_a_newcomers_question_starts_a_conversation_and_a_thank_you_answers_the_helper() -> None:
    lines = chat(
        (0, "ash", "how do I mount a usb drive?"),
        (1, "cedar", "ash: mount /dev/sdb1 /mnt"),
        (2, "elm", "is there a way to make grub boot windows by default?"),
        (2, "ash", "thanks cedar, that mounted it"),
    )
    parents = disentangle(lines)
    assert parents["2"] == "2"  # elm has not spoken and addresses nobody
    assert parents["3"] == "1"  # ash names cedar, who addressed ash


def test_explicit_replies_win_and_system_lines_stand_alone() -> None:
    lines = [
        ChatLine("a", "ash", START, "first"),
        ChatLine("j", "birch", START, "birch joined", system=True),
        ChatLine("b", "birch", START + timedelta(minutes=1), "ash: hello", reply_to="outside"),
    ]
    parents = disentangle(lines)
    assert parents == {"a": "a", "j": "j", "b": "outside"}
    assert conversation_roots(parents)["b"] == "outside"


def test_time_gap_baseline_links_only_recent_neighbours() -> None:
    lines = chat((0, "ash", "one"), (1, "birch", "two"), (5, "ash", "three"))
    assert time_gap_baseline(lines, max_gap_minutes=1) == {"0": "0", "1": "0", "2": "2"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["ash", "birch", "cedar"]), st.sampled_from(["ash: ok?", "birch, yes", "hello", "mount it"])), max_size=30
    )
)
def test_every_parent_is_an_earlier_message_or_itself(steps: list[tuple[int, str, str]]) -> None:
    minute = 0
    rows = []
    for step, author, text in steps:
        minute += step
        rows.append((minute, author, text))
    lines = chat(*rows)
    parents = disentangle(lines)
    assert set(parents) == {line.id for line in lines}
    assert all(int(parent) <= int(child) for child, parent in parents.items())
    roots = conversation_roots(parents)
    assert all(parents[root] == root and int(root) <= int(child) for child, root in roots.items())


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4).flatmap(lambda rows: st.lists(st.lists(st.integers(0, 9), min_size=4, max_size=4), min_size=rows, max_size=rows)))
def test_assignment_finds_the_best_pairing_as_brute_force_does(weights: list[list[int]]) -> None:
    best = max(sum(weights[row][column] for row, column in enumerate(columns)) for columns in itertools.permutations(range(4), len(weights)))
    assert max_assignment(weights) == best
