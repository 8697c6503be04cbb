"""What the person said, as the ranking hears it: their sentences, redacted, embedded once."""

from __future__ import annotations

import numpy as np

from qi_coach.coaching import said


def test_only_sentences_that_describe_something_are_kept_in_order_each_once():
    texts = ["Our falls project has stalled. Yes.", "/affirm", "not quite",
             "The ward manager left in May!  Our falls project has stalled.", ""]
    assert said.sentences_of(texts) == ["The ward manager left in May!", "Our falls project has stalled."]


def test_identifying_details_are_removed_before_anything_is_matched_or_quoted():
    sentences = said.sentences_of(["Mrs Smith, NHS number 943 476 5919, fell again; call me on 07700 900123 today."])
    assert sentences == ["[name], NHS number [NHS number], fell again;", "call me on [phone number] today."]


def test_a_long_conversation_keeps_its_latest_sentences():
    texts = [f"This is sentence number {i} of a long talk." for i in range(40)]
    kept = said.sentences_of(texts)
    assert len(kept) == said.MAX_SENTENCES and kept[-1] == texts[-1]


def test_heard_gives_one_unit_vector_per_sentence_and_similar_situations_sit_close():
    words = said.heard(["The consultant who led it is retiring in March.", "Nobody ever thanks the nurses."])
    assert words.sentences == ("The consultant who led it is retiring in March.", "Nobody ever thanks the nurses.")
    assert words.vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(words.vectors, axis=1), 1.0, atol=1e-4)
    retiring = said.heard(["Our lead doctor is about to retire."]).vectors[0]
    assert words.vectors[0] @ retiring > words.vectors[1] @ retiring + 0.2
    assert said.heard(["yes", "/affirm"]) is None


def test_a_prefetched_message_is_ready_and_gives_the_same_vectors():
    text = "The audit has shown no change for six months and nobody can say why."
    future = said.prefetch([text])
    assert future is not None
    future.result(timeout=60)
    assert np.array_equal(said.heard([text]).vectors, said.heard([text]).vectors)
    assert said.prefetch(["ok"]) is None


def test_the_quote_is_the_persons_sentence_shortened_to_read_well():
    assert said.you_said("The consultants are retiring.") == "you said \u201cThe consultants are retiring\u201d."
    long = " ".join(f"word{i}" for i in range(30))
    assert said.you_said(long) == "you said \u201c" + " ".join(f"word{i}" for i in range(18)) + "...\u201d."
