// A Hugging Face folder as GGUF: the metadata and the tensor changes that
// llama.cpp's convert_hf_to_gguf.py would make, built in memory so that the
// folder loads through the one GGUF path (architectures, binder, tokenizer).
//
// - The family from config.json's "architectures" (LlamaForCausalLM,
//   MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM) or "model_type";
//   hyperparameters to the <arch>.* keys, each required one checked.
// - Llama 3.1's "rope_scaling" (rope_type llama3) to rope_freqs.weight; any
//   other rope_scaling type is an error that names it.
// - llama: Q and K rows permuted from Hugging Face's rotate-half layout to
//   the adjacent-pair layout GGUF llama files use (the overlay holds the
//   permuted copies, in the checkpoint's dtype; the rest stays mapped).
//   Qwen2/3 rotate halves in GGUF too: nothing to permute.
// - tokenizer.json (+ tokenizer_config.json, generation_config.json) to
//   tokenizer.* keys (io/hf_tokenizer.h).
#pragma once

#include <memory>

#include "base/status.h"
#include "io/gguf_reader.h"
#include "io/hf_folder.h"

namespace kvs {

// The overlay for ModelFile::FromHf.
StatusOr<std::unique_ptr<GgufFile>> ImportHfFolder(const HfFolder& folder);

// Rows of a [rows, cols] matrix (row_bytes each) reordered from rotate-half
// to adjacent-pair order within each of n_heads heads, as llama.cpp's
// converter permutes Llama's Q and K: row h*hd + 2t + s <- row h*hd + s*hd/2 + t.
void PermuteRotaryRows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                       int n_heads);
// The inverse (GGUF llama layout back to Hugging Face's), for writing folders.
void UnpermuteRotaryRows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t row_bytes,
                         int n_heads);

}  // namespace kvs
