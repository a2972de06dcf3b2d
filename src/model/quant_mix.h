// QuantMix: which element type each tensor of a model gets when it is
// written quantized — llama-quantize's named mixes (its "ftypes": Q4_K_M,
// Q3_K_S, IQ4_XS, ...) or one type for every matrix ("pure", as
// llama-quantize --pure).
//
// A mix has a base type and bumps some tensors, as llama.cpp's
// llama_tensor_get_type decides for a dense model without an importance
// matrix (our reading of its rules, written from its behaviour and checked
// against llama-quantize --dry-run by bench/compare_quant_mix.sh):
//   - output.weight (token_embd.weight when the output is tied to it): Q6_K,
//     or Q8_0 when the row length is not a multiple of the base type's
//     block; the Q8_0 mix keeps Q8_0.
//   - attn_v, by layer i of n: Q2_K: Q4_K if n_heads / n_kv_heads >= 4,
//     else Q3_K; Q3_K_M: Q5_K for i < 2, else Q4_K; Q3_K_L: Q5_K; IQ4_NL /
//     IQ4_XS: Q5_K if n_heads / n_kv_heads >= 4; Q4_K_M / Q5_K_M: Q6_K where
//     UseMoreBits(i, n); Q4_K_S: Q5_K for i < 4. A Llama-70B-shape model (80
//     layers, grouped-query) then lifts a Q3_K / Q4_K attn_v to Q5_K.
//   - ffn_down: Q2_K: Q3_K; Q3_K_M: Q5_K for i < n/16, else Q4_K; Q3_K_L:
//     Q5_K; Q4_K_M / Q5_K_M: Q6_K where UseMoreBits(i, n); IQ4_NL /
//     IQ4_XS: Q5_K for i < n/8; Q4_K_S: Q5_K for i < n/8.
//   - attn_output: Q2_K: Q3_K; Q3_K_M: Q4_K; Q3_K_L: Q5_K.
//   - then every matrix whose row length is not a multiple of its type's
//     block falls back: IQ4_XS -> IQ4_NL, Q2_K / Q3_K -> Q4_0, Q4_K -> Q5_0,
//     Q5_K -> Q5_1, Q6_K -> Q8_0, and to F16 if that still does not fit.
// Falcon's own branches, expert (MoE) rules and importance-matrix rules are
// left out: kvserve reads none of those models.
//
// Value type, immutable, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tensor/dtype.h"

namespace kvs {

// What the mix rules look at besides a tensor's name and row length.
struct MixModelShape {
  std::string arch = "llama";
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  bool tied_output = false;  // no output.weight: token_embd.weight takes its rule
};

class QuantMix {
 public:
  // llama-quantize's names, case-insensitive: Q2_K, Q3_K_S, Q3_K_M, Q3_K_L,
  // Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
  // IQ4_NL, IQ4_XS, its aliases Q3_K / Q4_K / Q5_K (the _M mixes), and
  // F32 / F16 / BF16 (every matrix in that type). nullopt otherwise.
  static std::optional<QuantMix> FromName(std::string_view name);
  // Every matrix in `type`, no bumps and no fallbacks.
  static QuantMix Pure(DType type);

  // This mix's base type for every matrix.
  QuantMix AsPure() const;

  std::string_view name() const { return name_; }  // "Q4_K_M"; a pure mix: its type's name
  DType base_type() const { return base_; }
  bool pure() const { return pure_; }
  // general.file_type (llama.cpp's enum llama_ftype).
  uint32_t llama_file_type() const { return ftype_; }

  // The type of the tensor `tensor_name` with n_dims dimensions and rows of
  // `cols` elements. Pure: the base type for every matrix (even one whose
  // rows do not fit its blocks), F32 for vectors. A mix: F32 for vectors
  // and norms, else the rules above.
  DType TensorType(const MixModelShape& model, std::string_view tensor_name, int n_dims,
                   int64_t cols) const;

 private:
  QuantMix(std::string_view name, uint32_t ftype, DType base, bool pure)
      : name_(name), ftype_(ftype), base_(base), pure_(pure) {}

  std::string_view name_;
  uint32_t ftype_;
  DType base_;
  bool pure_;
};

// llama.cpp's use_more_bits: the first and last eighth of the layers and
// every third one in between.
bool UseMoreBits(int i_layer, int n_layers);

}  // namespace kvs
