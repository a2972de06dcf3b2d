// Converting a Model (from llama2.c or GGUF) into a GGUF file llama.cpp can
// load: general.* and <arch>.* hyperparameters, tokenizer.ggml.* vocabulary,
// and every tensor re-encoded to the requested type.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "io/gguf_writer.h"
#include "model/model.h"
#include "model/quant_mix.h"
#include "tensor/dtype.h"

namespace kvs {

// Writes `in` to `out_path` with each tensor in the type `mix` gives it
// (quant_mix.h: a pure mix makes every 2-D tensor its type and keeps 1-D
// tensors F32). Fails, naming the tensor, when a matrix's row length is not
// a multiple of its type's block size (only a pure mix can ask for that).
// Tensors are converted one row at a time, so memory use stays small
// whatever the model's size.
Status ConvertToGguf(const Model& in, const std::string& out_path, const QuantMix& mix,
                     const GgufWriter::ProgressFn& progress = nullptr);
// Every matrix in `type`: QuantMix::Pure(type).
Status ConvertToGguf(const Model& in, const std::string& out_path, DType type,
                     const GgufWriter::ProgressFn& progress = nullptr);

// The type `mix` gives each of the model's tensors, in file order (what
// ConvertToGguf writes; `kvserve convert --dry-run` prints it).
std::vector<DType> PlanTensorTypes(const Model& in, const QuantMix& mix);

// What `mix` needs to know of a model.
MixModelShape MixShapeOf(const ModelConfig& config, bool tied_output);

// general.* and the family's "<arch>.*" hyperparameters, as llama.cpp's
// converters write them (and Architecture::ReadConfig reads them).
// general.file_type is the mix's (llama_ftype).
void SetModelMetadata(const ModelConfig& config, const QuantMix& mix, GgufWriter* w);
void SetModelMetadata(const ModelConfig& config, DType type, GgufWriter* w);
// tokenizer.ggml.* and tokenizer.chat_template. Pieces in llama2.c style (a
// plain space) get U+2581 as GGUF expects; llama2.c's "\n<s>\n"-style
// control pieces lose their newlines.
void SetVocabMetadata(const Vocab& vocab, GgufWriter* w);

}  // namespace kvs
