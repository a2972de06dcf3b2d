#!/usr/bin/env python3
"""Lists the corpus strings where llama.cpp and Hugging Face disagree, with
the reason, into hf_disagreements.txt ("vocab index reason" lines, read by
src/tokenizer/bpe_corpus_test.cc) and prints a summary."""
import json
import unicodedata

strings = [json.loads(l) for l in open("strings.jsonl", encoding="utf-8")]
# Token ids that exist in Qwen3's tokenizer.json but are padding
# ([PAD151646] ...) in ggml-vocab-qwen2.gguf (Qwen2's 151,646 real tokens).
QWEN3_ONLY = 151646
rows = []
for vocab, ours, hf in (("llama-bpe", "llama-bpe.llamacpp.ids", "llama3.1.hf.ids"),
                        ("qwen2", "qwen2.llamacpp.ids", "qwen3.hf.ids")):
    a = [l.split() for l in open(ours)]
    b = [l.split() for l in open(hf)]
    for i, (s, x, y) in enumerate(zip(strings, a, b)):
        if x == y:
            continue
        if any(int(t) >= QWEN3_ONLY for t in y) and vocab == "qwen2":
            reason = "qwen3-added-token"
        elif unicodedata.normalize("NFC", s) != s and vocab == "qwen2":
            reason = "hf-nfc-normalizer"
        elif "</s>" in s and vocab == "qwen2":
            reason = "gguf-special-</s>"
        else:
            reason = "unexplained"
        rows.append((vocab, i, reason))
with open("hf_disagreements.txt", "w") as f:
    for vocab, i, reason in rows:
        f.write(f"{vocab} {i} {reason}\n")
summary = {}
for vocab, _, reason in rows:
    summary[(vocab, reason)] = summary.get((vocab, reason), 0) + 1
print(f"{len(strings)} strings;", ", ".join(f"{v} {r}: {n}" for (v, r), n in sorted(summary.items())) or "no disagreements")
