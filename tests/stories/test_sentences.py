"""Mail wrapping around a message's own words: greetings, sign-offs and missed quoted originals."""

from __future__ import annotations

from villagegreen.stories.sentences import best_sentence, content_words, prose, sentences


def test_greeting_and_sign_off_are_not_the_message() -> None:
    text = "Hi Blake,\n\nCanonicalization is needed for signature validation only.\n\nKind Regards,\nAna Silva\nExample Corp"
    assert prose(text) == "Canonicalization is needed for signature validation only."


def test_a_thanks_line_ends_the_message_only_near_its_end() -> None:
    near_end = "I tried the patch and it works on my machine now.\n\nThanks,\nBen"
    assert prose(near_end) == "I tried the patch and it works on my machine now."
    # "Thanks" alone on a line far from the end (a long message goes on) is not a sign-off.
    long_body = "Thanks\n" + "The patch changes the parser so that every entity is expanded once. " * 10
    assert prose(long_body).startswith("Thanks")


def test_a_quoted_original_the_mail_splitter_missed_is_cut() -> None:
    text = (
        "Union datatypes are fine now.\n\n_____________Original message ____________\n"
        "Subject:Datatype definition\nSender:ext Chen Wu\nDate:Mon, 28 Oct 2002 12:34:33 +0300\nThe old text."
    )
    assert prose(text) == "Union datatypes are fine now."
    headers = "We agreed.\nFrom: Dara Quinn\nSent: Monday\nSubject: old thread\nold words here"
    assert prose(headers) == "We agreed."


def test_a_greeting_word_inside_a_sentence_is_kept() -> None:
    assert prose("Hello world programs are a fine first exercise.") == "Hello world programs are a fine first exercise."


def test_the_first_sentence_wins_a_tie_on_topic_words() -> None:
    topic = content_words("water tomato seedlings heatwave")
    text = "Mulch keeps the soil cool and moist all day. Water the seedlings deeply at dawn in a heatwave. Tomatoes love sun."
    assert len(sentences(text)) == 3
    found = best_sentence(text, topic)
    assert found is not None and found[0].startswith("Water the seedlings")  # two topic words beat coming first
    found = best_sentence("Mulch keeps the soil cool and moist all day. Also the weather is nice today.", topic)
    assert found is not None and found[0].startswith("Mulch")  # no topic words: the earlier one
