#include "model/model_converter.h"

#include <vector>

#include "tensor/quant.h"

namespace kvs {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581

std::vector<std::string> GgufPieces(const Vocab& vocab) {
  if (vocab.model == "gpt2") return vocab.pieces;  // byte-level pieces are stored as they are
  bool spm_style = false;
  for (const std::string& p : vocab.pieces) spm_style |= p.find(kSpmSpace) != std::string::npos;
  std::vector<std::string> out;
  out.reserve(vocab.pieces.size());
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    std::string p = vocab.pieces[i];
    const TokenType type = i < vocab.types.size() ? vocab.types[i] : TokenType::kNormal;
    if (type == TokenType::kControl || type == TokenType::kUnknown) {
      while (!p.empty() && p.front() == '\n') p.erase(0, 1);
      while (!p.empty() && p.back() == '\n') p.pop_back();
    } else if (!spm_style) {
      for (size_t pos; (pos = p.find(' ')) != std::string::npos;) p.replace(pos, 1, kSpmSpace);
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

MixModelShape MixShapeOf(const ModelConfig& c, bool tied_output) {
  return MixModelShape{c.arch, c.n_layers, c.n_heads, c.n_kv_heads, tied_output};
}

void SetModelMetadata(const ModelConfig& hp, DType type, GgufWriter* w) {
  SetModelMetadata(hp, QuantMix::Pure(type), w);
}

void SetModelMetadata(const ModelConfig& hp, const QuantMix& mix, GgufWriter* w) {
  const std::string a = hp.arch + ".";
  w->SetString("general.architecture", hp.arch);
  w->SetString("general.name", hp.name.empty() ? hp.arch : hp.name);
  w->SetU32("general.file_type", mix.llama_file_type());
  if (BlockElems(mix.base_type()) > 1) w->SetU32("general.quantization_version", 2);
  w->SetU32(a + "context_length", static_cast<uint32_t>(hp.context_length));
  w->SetU32(a + "embedding_length", static_cast<uint32_t>(hp.dim));
  w->SetU32(a + "feed_forward_length", static_cast<uint32_t>(hp.hidden_dim));
  w->SetU32(a + "block_count", static_cast<uint32_t>(hp.n_layers));
  w->SetU32(a + "attention.head_count", static_cast<uint32_t>(hp.n_heads));
  w->SetU32(a + "attention.head_count_kv", static_cast<uint32_t>(hp.n_kv_heads));
  if (hp.head_dim * hp.n_heads != hp.dim) {
    w->SetU32(a + "attention.key_length", static_cast<uint32_t>(hp.head_dim));
    w->SetU32(a + "attention.value_length", static_cast<uint32_t>(hp.head_dim));
  }
  w->SetU32(a + "rope.dimension_count", static_cast<uint32_t>(hp.head_dim));
  w->SetF32(a + "attention.layer_norm_rms_epsilon", hp.norm_eps);
  w->SetF32(a + "rope.freq_base", hp.rope_freq_base);
}

void SetVocabMetadata(const Vocab& vocab, GgufWriter* w) {

  w->SetString("tokenizer.ggml.model", vocab.model.empty() ? "llama" : vocab.model);
  w->SetStringArray("tokenizer.ggml.tokens", GgufPieces(vocab));
  std::vector<float> scores = vocab.scores;
  scores.resize(vocab.pieces.size(), 0.f);
  w->SetScalarArray("tokenizer.ggml.scores", GgufType::kF32, scores.data(), scores.size());
  std::vector<int32_t> types(vocab.pieces.size(), static_cast<int32_t>(TokenType::kNormal));
  for (size_t i = 0; i < vocab.types.size() && i < types.size(); ++i) {
    types[i] = static_cast<int32_t>(vocab.types[i]);
  }
  w->SetScalarArray("tokenizer.ggml.token_type", GgufType::kI32, types.data(), types.size());
  if (vocab.bos_id >= 0) w->SetU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab.bos_id));
  if (vocab.eos_id >= 0) w->SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.eos_id));
  if (vocab.unk_id >= 0) {
    w->SetU32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(vocab.unk_id));
  }
  for (const auto& [key, id] : {std::pair<const char*, TokenId>{"tokenizer.ggml.eot_token_id", vocab.eot_id},
                                {"tokenizer.ggml.eom_token_id", vocab.eom_id},
                                {"tokenizer.ggml.padding_token_id", vocab.pad_id}}) {
    if (id >= 0) w->SetU32(key, static_cast<uint32_t>(id));
  }
  if (vocab.model == "gpt2") {
    w->SetString("tokenizer.ggml.pre", vocab.pre);
    w->SetStringArray("tokenizer.ggml.merges", vocab.merges);
  }
  w->SetBool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  // Only when set, so that files written before the key was known keep
  // their bytes (tests pin some by SHA-256).
  if (vocab.add_eos) w->SetBool("tokenizer.ggml.add_eos_token", true);
  w->SetBool("tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);
  if (!vocab.chat_template.empty()) w->SetString("tokenizer.chat_template", vocab.chat_template);
  // A Hugging Face folder's tokenizer semantics (vocab.h), kept for our own
  // loader; llama.cpp ignores the keys.
  if (!vocab.normalizer.empty()) w->SetString("tokenizer.kvserve.normalizer", vocab.normalizer);
  if (!vocab.eog_ids.empty()) {
    w->SetScalarArray("tokenizer.kvserve.eog_token_ids", GgufType::kI32, vocab.eog_ids.data(),
                      vocab.eog_ids.size());
  }
}

std::vector<DType> PlanTensorTypes(const Model& model, const QuantMix& mix) {
  const ModelFile& in = model.file();
  bool tied_output = true;
  for (const TensorInfo& t : in.tensors()) tied_output &= t.name != "output.weight";
  const MixModelShape shape = MixShapeOf(model.config(), tied_output);
  std::vector<DType> types;
  for (const TensorInfo& t : in.tensors()) {
    types.push_back(mix.TensorType(shape, t.name, static_cast<int>(t.dims.size()), t.dims[0]));
  }
  return types;
}

Status ConvertToGguf(const Model& model, const std::string& out_path, DType type,
                     const GgufWriter::ProgressFn& progress) {
  return ConvertToGguf(model, out_path, QuantMix::Pure(type), progress);
}

Status ConvertToGguf(const Model& model, const std::string& out_path, const QuantMix& mix,
                     const GgufWriter::ProgressFn& progress) {
  const ModelFile& in = model.file();
  GgufWriter w;
  SetModelMetadata(model.config(), mix, &w);
  SetVocabMetadata(in.vocab(), &w);
  const SamplingDefaults& d = model.sampling_defaults();
  for (const auto& [key, value] : {std::pair{"temp", d.temperature}, std::pair{"top_p", d.top_p},
                                   std::pair{"min_p", d.min_p},
                                   std::pair{"penalty_repeat", d.repetition_penalty}}) {
    if (value) w.SetF32(std::string("general.sampling.") + key, *value);
  }
  if (d.top_k) w.SetU32("general.sampling.top_k", static_cast<uint32_t>(*d.top_k));
  const std::vector<DType> out_types = PlanTensorTypes(model, mix);
  for (size_t i = 0; i < in.tensors().size(); ++i) {
    const TensorInfo& t = in.tensors()[i];
    const DType out = out_types[i];
    if (t.dims[0] % BlockElems(out) != 0) {
      return InvalidArgumentError("cannot convert tensor '" + t.name + "' to " +
                                  std::string(DTypeName(out)) + ": its row length " +
                                  std::to_string(t.dims[0]) + " is not a multiple of the block size " +
                                  std::to_string(BlockElems(out)));
    }
    KVS_RETURN_IF_ERROR(w.AddTensor(t.name, out, t.dims));
  }
  std::vector<float> row_f32;
  std::vector<uint8_t> row_out;
  auto fill = [&](size_t i, TensorSink& sink) -> Status {
    const TensorInfo& t = in.tensors()[i];
    const int64_t cols = t.dims[0];
    const int64_t rows = t.n_elements() / cols;
    const DType out = out_types[i];
    row_f32.resize(static_cast<size_t>(cols));
    row_out.resize(static_cast<size_t>(RowBytes(out, cols)));
    const auto* src = static_cast<const uint8_t*>(t.data);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = src + r * RowBytes(t.type, cols);
      if (t.type == out) {  // no re-encoding: copy, so F32 -> F32 is bit-exact
        KVS_RETURN_IF_ERROR(sink.Write(row, row_out.size()));
        continue;
      }
      DequantizeRow(t.type, row, row_f32.data(), cols);
      QuantizeRow(out, row_f32.data(), row_out.data(), cols);
      KVS_RETURN_IF_ERROR(sink.Write(row_out.data(), row_out.size()));
    }
    return Status::Ok();
  };
  return w.WriteFile(out_path, fill, progress).WithContext("converting '" + in.path() + "'");
}

}  // namespace kvs
