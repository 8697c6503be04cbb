"""The NumPy MiniLM encoder gives what sentence-transformers gives, and the featurizer uses it."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from qi_coach.nlu.embedding_cache import EmbeddingCache
from qi_coach.nlu.embedding_featurizer import SentenceEmbeddingFeaturizer
from qi_coach.nlu.sentence_encoder import DIMENSION, EncoderUnavailable, SentenceEncoder, model_dir, shared_encoder


def test_similarities_match_the_published_all_minilm_l6_v2_figures():
    # sentence-transformers' semantic-similarity quick-start prints these cosine scores for
    # all-MiniLM-L6-v2 (0.2838, -0.0327, 0.8939): the forward pass is the real model's.
    encoder = shared_encoder()
    left = encoder.encode(["The cat sits outside", "A man is playing guitar", "The new movie is awesome"])
    right = encoder.encode(["The dog plays in the garden", "A woman watches TV", "The new movie is so great"])
    np.testing.assert_allclose((left * right).sum(axis=1), [0.2838, -0.0327, 0.8939], atol=5e-5)


def test_vectors_are_unit_length_in_input_order_whatever_the_batching():
    encoder = shared_encoder()
    texts = ["no protected time", "x " * 400, "the consultants won't engage", "", "🙂🙂", "la direction ne suit pas"]
    together = encoder.encode(texts)
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    assert together.shape == (len(texts), DIMENSION)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, DIMENSION)


def test_paraphrases_of_a_barrier_are_closer_than_other_barriers():
    encoder = shared_encoder()
    leaving, rotating, budget = encoder.encode(
        ["our project lead left and nobody took it over", "the champion moved on and it fell apart",
         "there is no money for backfill"])
    assert leaving @ rotating > leaving @ budget


def test_a_different_weights_file_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir(), copy)
    with (copy / "model.safetensors").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(EncoderUnavailable, match="SHA-256"):
        SentenceEncoder(copy)


def test_featurizer_adds_one_weighted_sentence_vector_and_no_sequence_features():
    featurizer = SentenceEmbeddingFeaturizer({**SentenceEmbeddingFeaturizer.get_default_config(), "weight": 2.0},
                                             "embedding")
    message, empty = Message({TEXT: "we can't get data out of the EPR"}), Message({TEXT: ""})
    featurizer.process([message, empty])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None and sentence.features.shape == (1, DIMENSION)
    assert np.linalg.norm(sentence.features) == pytest.approx(2.0, abs=1e-4)
    assert empty.get_dense_features(TEXT) == (None, None)


def test_featurizer_rejects_a_weight_that_is_not_positive():
    with pytest.raises(ValueError, match="weight"):
        SentenceEmbeddingFeaturizer({**SentenceEmbeddingFeaturizer.get_default_config(), "weight": 0}, "embedding")


def test_the_embedding_cache_gives_the_encoders_vectors_and_computes_each_text_once(tmp_path):
    class Counting:
        def __init__(self):
            self.seen: list[str] = []

        def encode(self, texts, progress=None):
            self.seen += texts
            return shared_encoder().encode(texts, progress)

    cache, encoder = EmbeddingCache(tmp_path / "cache.sqlite"), Counting()
    texts = ["no time for QI", "the registrars rotate", "no time for QI"]
    first = cache.encode(encoder, texts)
    assert encoder.seen == ["no time for QI", "the registrars rotate"]
    again = cache.encode(encoder, texts + ["nobody owns it"])
    assert encoder.seen[2:] == ["nobody owns it"]
    assert np.allclose(again[:3], first, atol=1e-6)
    assert np.allclose(again, shared_encoder().encode(texts + ["nobody owns it"]), atol=1e-5)


def test_a_damaged_embedding_cache_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    vectors = EmbeddingCache(path).encode(shared_encoder(), ["staff keep leaving"])
    assert vectors.shape == (1, 384) and np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)


def test_embedding_many_texts_reports_progress_after_each_batch():
    heard: list[tuple[int, int]] = []
    texts = [f"message number {i}" for i in range(70)]
    shared_encoder().encode(texts, lambda done, total: heard.append((done, total)))
    assert heard == [(32, 70), (64, 70), (70, 70)]


def test_training_logs_the_embedding_progress_once_per_tenth(caplog):
    from qi_coach.nlu.embedding_featurizer import _progress_log

    log = _progress_log()
    with caplog.at_level(logging.INFO, logger="qi_coach.nlu.embedding_featurizer"):
        for done in range(10, 310, 10):  # 30 batches
            log(done, 300)
    logged = [r.getMessage() for r in caplog.records]
    assert logged[0] == "Embedding training messages: 10 of 300"  # the first batch
    assert logged[1:] == [f"Embedding training messages: {n} of 300" for n in range(30, 330, 30)]  # each tenth
