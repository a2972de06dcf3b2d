// Writes a model `kvserve make-model` made as GGUF again as a Hugging Face
// folder (config.json, model.safetensors, the vocabulary folder's
// tokenizer files), holding the same values: Llama's Q and K rows go back
// to Hugging Face's rotate-half layout and rope_freqs back to config.json's
// rope_scaling, so that both files load to the same weights.
#pragma once

#include <string>

#include "base/status.h"
#include "io/gguf_reader.h"
#include "tools/model_shapes.h"

namespace kvs::tools {

// `config`: the hyperparameters the GGUF was made with (n_vocab set);
// `vocab_dir`: a folder with tokenizer.json (tokenizer_config.json and
// generation_config.json copied too when present); `chat_template`: when
// non-empty, it replaces tokenizer_config.json's.
Status ExportHfFolder(const GgufFile& gguf, const ModelShape& shape, const ModelConfig& config,
                      const std::string& vocab_dir, const std::string& chat_template,
                      const std::string& out_dir);

}  // namespace kvs::tools
