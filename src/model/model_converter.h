// Converting a Model (from llama2.c or GGUF) into a GGUF file llama.cpp can
// load: general.* and <arch>.* hyperparameters, tokenizer.ggml.* vocabulary,
// and every tensor re-encoded to the requested type.
#pragma once

#include <string>

#include "base/status.h"
#include "io/gguf_writer.h"
#include "model/model.h"
#include "tensor/dtype.h"

namespace kvs {

// Writes `in` to `out_path`. 2-D tensors become `type`; 1-D tensors (norms)
// stay F32. Fails, naming the tensor, when a matrix's row length is not a
// multiple of `type`'s block size. Tensors are converted one row at a time,
// so memory use stays small whatever the model's size.
Status ConvertToGguf(const Model& in, const std::string& out_path, DType type,
                     const GgufWriter::ProgressFn& progress = nullptr);

// general.* and the family's "<arch>.*" hyperparameters, as llama.cpp's
// converters write them (and Architecture::ReadConfig reads them).
void SetModelMetadata(const ModelConfig& config, DType type, GgufWriter* w);
// tokenizer.ggml.* and tokenizer.chat_template. Pieces in llama2.c style (a
// plain space) get U+2581 as GGUF expects; llama2.c's "\n<s>\n"-style
// control pieces lose their newlines.
void SetVocabMetadata(const Vocab& vocab, GgufWriter* w);

}  // namespace kvs
