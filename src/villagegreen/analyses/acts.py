"""Dialogue acts: what each message does in its conversation, with the rule that decided it.

Acts (``ACTS``): question, answer, elaboration, challenge, appreciation, facilitation, social.
The labeller is a short ordered list of rules over the message's own text and its place in
the conversation (root or reply, who wrote the root, what the parent message did). The first
rule that fires decides, so every label carries exactly one rule name and the words that made
it fire: a facilitator can see why, and a wrong label points at the rule to fix.

It is offline, needs no model, and labels thousands of messages a second on one core.

Platform signals (Stack Exchange's post type, Discourse's accepted answer, ``messages.kind``)
are used only when ``use_platform_kind`` is true. Benchmarks switch them off, because they are
the ground truth the rules are measured against (benchmarks/dialogue_acts.py).

Limits: English lexicons only; sarcasm, indirect questions ("I wonder whether...") and
disagreement without a marker word are missed; a long reply to a question counts as an answer
whether or not it is correct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Act = Literal["question", "answer", "elaboration", "challenge", "appreciation", "facilitation", "social"]
ACTS: tuple[Act, ...] = ("question", "answer", "elaboration", "challenge", "appreciation", "facilitation", "social")
# 2: facilitation no longer fires on "welcome to" / "anyone else", praise ("nice", "cool") is
# appreciation, social needs the whole message to be chatter, "i doubt" / "not quite" alone are
# no challenge (errors found on a hand-labelled urho3d sample; see docs/analyses/acts.md).
ACTS_VERSION = "2"

# A reply to a question needs at least this many words (outside quotes) to count as an answer:
# below it, replies are mostly clarifying remarks. Stack Exchange comments have a median of 32
# words and answers 195 (quantumcomputing dump), Discourse replies are shorter, hence a low bar.
ANSWER_MIN_WORDS = 12
# Thanks inside a long message is politeness around an answer or a new question; only short
# messages are appreciation first and foremost.
APPRECIATION_MAX_WORDS = 30
SOCIAL_MAX_WORDS = 12
_HEAD_CHARS = 600

_THANKS = re.compile(
    r"\b(thanks?|thank you|thx|tnx|ty|cheers|appreciated?|grateful|kudos|much obliged|that (?:worked|works|did it|fixed it|helped)|"
    r"great (?:answer|explanation|work|job)|nice (?:answer|work|job|one)|awesome|perfect|brilliant|solved)\b",
)
_CHALLENGE = re.compile(
    r"\b(i (?:disagree|don'?t agree|do not agree)|not sure (?:that|this|it|about)|i don'?t think|i do not think|"
    r"that'?s not (?:right|true|correct|how)|(?:is|are|seems?) (?:wrong|incorrect|misleading)|not (?:true|correct|quite (?:right|true|correct|so))|"
    r"on the contrary|that (?:doesn'?t|does not|won'?t|will not) work|why not just|isn'?t it better|"
    r"i (?:would|'?d) argue|counter-?example|actually,)",
)
# "but"/"however" opening the message: a reply that turns against what it answers.
_CHALLENGE_OPENING = re.compile(r"^\W*(but|however|although|no,|nope|well, no|hmm,? but)\b")
_FACILITATION = re.compile(
    r"\b(to (?:summari[sz]e|sum up|recap)|in summary|summary so far|so far we have|what do (?:others|you all|people|folks) think|"
    r"any (?:other )?(?:thoughts|opinions|objections)|let'?s (?:move|get back|go back|take this|continue|focus|keep)|"
    r"back to the (?:topic|question)|(?:please|pls) (?:open|start|create|post) a (?:new|separate) (?:thread|topic)|"
    r"(?:moved|moving|split) (?:this|the) (?:thread|topic|posts?)|off[- ]topic here|please keep|"
    r"(?:does|do|would|could) (?:anyone|anybody|everyone|somebody) else (?:think|agree|have (?:an? )?(?:thoughts?|opinions?|ideas?))|"
    r"(?:anyone|anybody) else (?:want|interested|care) to)\b",
)
_SOCIAL = re.compile(
    r"^\W*(?:(?:and|also|oh|btw),?\s+)?(hi|hello|hey|good (?:morning|evening|night|afternoon)|lol|haha+|congrat\w*|happy (?:birthday|new year|holidays)|"
    r"welcome( back)?|bye|see you|[+]1)\W*",
)
# Greetings open many answers ("Hello :) Try this: ..."): only this many words may follow one.
SOCIAL_AFTER_GREETING_WORDS = 4
_GREETING = re.compile(r"^\W*(hi|hello|hey|good (?:morning|evening|night|afternoon))\b")
# A short reply opening with praise of someone's work ("Nice!", ":astonished: Very impressive!")
# is appreciation; praise later in the message ("... would be great") is not.
_PRAISE = re.compile(
    r"^(?:\W|:\w+:)*(?:(?:very|really|so|looks?|that'?s|this is|it'?s)\s+)*(nice|cool|wow|impressive|amazing|beautiful|great|excellent|lovely|neat)\b"
)
_QUESTION_OPENING = re.compile(
    r"^\W*(how|what|why|when|where|which|who|is|are|can|could|does|do|did|should|would|will|has|have|anyone|any ?one|"
    r"is there|are there)\b",
)
_HELP_REQUEST = re.compile(r"\b(any (?:idea|help|advice|suggestions?|pointers?)|help (?:me|needed|please)|i (?:can'?t|cannot) (?:get|figure|find|make))")
_CODE = re.compile(r"```|`[^`\n]+`|\b\w+\(\)|\b\w+::\w+")
_CODE_OR_LINK = re.compile(r"```|`[^`\n]+`|https?://|\b\w+\(\)|\b\w+::\w+")
_SELF_SOLVED = re.compile(
    r"\b(solved|fixed it|figured (?:it )?out|found (?:the|a) (?:problem|solution|issue|fix|answer)|turns out|turned out|works now|"
    r"working now|the (?:problem|issue|fix|solution) (?:is|was))\b"
)
_QUOTE_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class MessageView:
    """What the labeller may look at for one message.

    ``parent_act`` is the act already given to the message this one replies to (the labeller
    runs in conversation order); ``kind`` is the platform's own message kind, read only when
    the caller allows platform signals.
    """

    text: str
    is_root: bool
    title: str = ""
    by_root_author: bool = False
    replies_to_own: bool = False
    replies_to_asker: bool = False
    parent_act: Act | None = None
    parent_is_root: bool = False
    root_act: Act | None = None
    kind: str = "message"
    # False where a scan of the whole text in SQL found none of the lexicons ``PRESCANNED``;
    # None: no scan. Only used where it is exact (see ``_lexicon``).
    lexicons_possible: bool | None = None


@dataclass(frozen=True, slots=True)
class ActLabel:
    act: Act
    confidence: float
    rule: str
    evidence: str

    def to_dict(self) -> dict[str, object]:
        return {"act": self.act, "confidence": self.confidence, "rule": self.rule, "evidence": self.evidence}


def own_text(text: str) -> str:
    """The message without quoted lines ("> ..."): quoting repeats somebody else's words."""
    # Most messages quote nothing: the regex only runs where a quote marker can be.
    return (_QUOTE_LINE.sub("", text) if ">" in text else text).strip()


def label_message(view: MessageView, *, use_platform_kind: bool = True) -> ActLabel:
    """The act of one message and the rule that decided it (first matching rule wins)."""
    if use_platform_kind:
        platform = _platform_label(view)
        if platform is not None:
            return platform
    text = own_text(view.text)
    words = len(text.split())
    quoted = text != view.text.strip()
    if view.is_root:
        return _root_label(view, text, words)
    # Lexicons are lower-case patterns searched in the first characters only: markers sit near
    # the start, and long code pastes would otherwise dominate the time spent.
    head = text[:_HEAD_CHARS].lower()
    # The asker explaining how they solved it answers their own question ("Solved!" alone is thanks).
    solved = view.root_act == "question" and view.by_root_author and words >= ANSWER_MIN_WORDS
    if solved and (match := _SELF_SOLVED.search(head)) is not None:
        return ActLabel("answer", 0.6, "asker_own_solution", match.group(0))
    if words <= APPRECIATION_MAX_WORDS and (match := _lexicon("thanks", head, text, view)) is not None:
        return ActLabel("appreciation", 0.8 if words <= 12 else 0.6, "short_thanks", match.group(0))
    # Disagreeing with the question itself is usually part of answering it: answer first. In a
    # question thread, a reply to the asker's follow-up still works on the asker's problem.
    answering = view.parent_act == "question" or (view.root_act == "question" and view.replies_to_asker)
    if answering and not view.by_root_author and words >= ANSWER_MIN_WORDS and not _mostly_question(text, words):
        evidence = "code or link" if _has_code_or_link(head) else f"{words} words"
        return ActLabel("answer", 0.8 if words >= 3 * ANSWER_MIN_WORDS else 0.6, "reply_to_question", evidence)
    helper_in_question_thread = view.root_act == "question" and not view.by_root_author and words >= ANSWER_MIN_WORDS
    if helper_in_question_thread and "?" not in text and (match := _code(head)) is not None:
        return ActLabel("answer", 0.5, "code_in_question_thread", match.group(0)[:40])
    if (match := _lexicon("facilitation", head, text, view)) is not None:
        return ActLabel("facilitation", 0.7, "facilitation_phrase", match.group(0))
    if not view.replies_to_own and ((match := _lexicon("challenge", head, text, view)) or (match := _CHALLENGE_OPENING.search(head))):
        return ActLabel("challenge", 0.6, "disagreement_marker", match.group(0).strip())
    if words <= SOCIAL_MAX_WORDS and "?" not in text and not _has_code_or_link(head):
        if (match := _SOCIAL.match(head)) is not None and not _greeting_before_more(head, match):
            return ActLabel("social", 0.6, "greeting_or_chatter", match.group(0).strip())
        if (match := _PRAISE.match(head)) is not None:
            return ActLabel("appreciation", 0.6, "short_praise", match.group(0))
    if _asks(text, words):
        rule = "asker_follow_up_question" if view.by_root_author else "clarifying_question"
        return ActLabel("question", 0.7, rule, _question_evidence(text))
    if view.by_root_author and view.parent_act in ("answer", "elaboration", "challenge"):
        return ActLabel("elaboration", 0.5, "asker_follow_up", f"{words} words")
    return ActLabel("elaboration", 0.4, "quoted_reply" if quoted else "default_reply", f"{words} words")


def _platform_label(view: MessageView) -> ActLabel | None:
    if view.kind == "question":
        return ActLabel("question", 1.0, "platform_kind", "kind=question")
    if view.kind == "answer":
        return ActLabel("answer", 1.0, "platform_kind", "kind=answer")
    return None


def _root_label(view: MessageView, text: str, words: int) -> ActLabel:
    title = view.title.strip()
    if title.endswith("?") or _QUESTION_OPENING.match(title.lower()):
        return ActLabel("question", 0.8, "root_question_title", title[:80])
    head = text[:_HEAD_CHARS].lower()
    if _asks(text, words) or _HELP_REQUEST.search(head):
        return ActLabel("question", 0.7, "root_asks", _question_evidence(text))
    if words <= SOCIAL_MAX_WORDS and (match := _SOCIAL.match(head)) is not None:
        return ActLabel("social", 0.6, "root_greeting", match.group(0).strip())
    if (match := _lexicon("facilitation", head, text, view)) is not None:
        return ActLabel("facilitation", 0.6, "root_facilitation_phrase", match.group(0))
    return ActLabel("elaboration", 0.4, "root_statement", f"{words} words, no question")


# The three lexicons searched anywhere in a reply's head: most of the labeller's time. The store
# scans all texts for any of them at once in SQL first (acts_store.py; RE2 over the lower-cased
# text), and ``_lexicon`` skips the Python search where that scan found nothing and could not
# have missed a match: an ASCII text (RE2's and Python's \b, \w and lower case agree there)
# short enough that the head is the whole own text (quoted lines are only removed, and no
# pattern spans a line, so a match in the own text is a match in the whole text).
PRESCANNED: dict[str, re.Pattern[str]] = {"thanks": _THANKS, "challenge": _CHALLENGE, "facilitation": _FACILITATION}


def _lexicon(name: str, head: str, text: str, view: MessageView) -> re.Match[str] | None:
    if view.lexicons_possible is False and len(text) <= _HEAD_CHARS and view.text.isascii():
        return None
    return PRESCANNED[name].search(head)


# Every alternative of _CODE and _CODE_OR_LINK contains one of these: a text without any cannot
# match, and checking for them is a fraction of the regex's cost on ordinary prose.
_CODE_MARKERS = ("`", "()", "::")


def _code(head: str) -> re.Match[str] | None:
    return _CODE.search(head) if any(marker in head for marker in _CODE_MARKERS) else None


def _has_code_or_link(head: str) -> bool:
    return ("://" in head or any(marker in head for marker in _CODE_MARKERS)) and _CODE_OR_LINK.search(head) is not None


def _greeting_before_more(head: str, match: re.Match[str]) -> bool:
    """A greeting followed by a real message ("Hello, how do you set ...") is not chatter."""
    return _GREETING.match(head) is not None and len(head[match.end() :].split()) > SOCIAL_AFTER_GREETING_WORDS


def _asks(text: str, words: int) -> bool:
    if "?" in text:
        return True
    if words > 25:
        return False
    # "Hello, how do you ..." asks as much as "How do you ...".
    opening = _GREETING.sub("", text.lower(), count=1)
    return _QUESTION_OPENING.match(opening) is not None


def _mostly_question(text: str, words: int) -> bool:
    """A short reply that is itself mainly a question ("Which version are you on?")."""
    if "?" not in text:
        return False
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    asking = sum(1 for s in sentences if s.rstrip().endswith("?"))
    return words < 40 and asking * 2 >= len(sentences)


def _question_evidence(text: str) -> str:
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if sentence.rstrip().endswith("?"):
            return sentence.strip()[:80]
    return text[:80]
