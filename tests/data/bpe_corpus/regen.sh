#!/bin/sh
# Regenerates the byte-level BPE corpus and its expected ids.
#   strings.jsonl            the corpus (gen_corpus.mjs, seeded: same every run)
#   *.llamacpp.ids           llama.cpp's ids (node-llama-cpp 3.21.1, vocab-only GGUF);
#                            qwen2-vocab.PRE.*: the Qwen2 vocabulary with pre-tokenizer PRE
#   *.hf.ids                 Hugging Face's ids (@huggingface/tokenizers, tokenizer.json)
#   hf_disagreements.txt     where the two disagree, and why (compare.py)
# Needs node with node-llama-cpp in $NLC (default ~/.cache/kvserve/node-llama-cpp)
# and @huggingface/tokenizers in $HFM (npm install @huggingface/transformers
# into ~/.cache/kvserve/hf-tok), and python3.
set -eu
cd "$(dirname "$0")"
V=${KVS_SHARED_DIR:-../../../../shared}/models/vocab
NLC=${NLC:-$HOME/.cache/kvserve/node-llama-cpp}
HFM=${HFM:-$HOME/.cache/kvserve/hf-tok/node_modules}
node gen_corpus.mjs > strings.jsonl
node oracle_llamacpp.mjs "$NLC" "$V/ggml-vocab-llama-bpe.gguf" < strings.jsonl > llama-bpe.llamacpp.ids
node oracle_llamacpp.mjs "$NLC" "$V/ggml-vocab-qwen2.gguf" < strings.jsonl > qwen2.llamacpp.ids
node oracle_hf.mjs "$HFM" "$V/hf-llama3.1" < strings.jsonl > llama3.1.hf.ids
node oracle_hf.mjs "$HFM" "$V/hf-qwen3" < strings.jsonl > qwen3.hf.ids
# The other pre-tokenizers, on the Qwen2 vocabulary with its pre key swapped
# (llama.cpp spells GPT-2's "gpt-2"; we accept "gpt2" too).
tmp=$(mktemp -d)
for pre in smollm default gpt-2; do
  node patch_pre.mjs "$V/ggml-vocab-qwen2.gguf" "$tmp/vocab.gguf" "$pre"
  node oracle_llamacpp.mjs "$NLC" "$tmp/vocab.gguf" < strings.jsonl > "qwen2-vocab.$pre.llamacpp.ids"
done
rm -r "$tmp"
python3 compare.py
# Indices of the strings that Unicode NFC changes (Qwen's tokenizer.json
# normalizes to NFC; we, like llama.cpp, do not): src/io/hf_tokenizer_test.cc.
python3 -c 'import json, sys, unicodedata
for i, l in enumerate(sys.stdin):
    s = json.loads(l)
    if unicodedata.normalize("NFC", s) != s: print(i)' < strings.jsonl > nfc_changed.txt
