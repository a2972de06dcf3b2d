#include "model/quant_mix.h"

#include <cctype>
#include <string>

namespace kvs {
namespace {

// llama_ftype numbers.
enum Ftype : uint32_t {
  kAllF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 7, kQ5_0 = 8, kQ5_1 = 9, kQ2_K = 10,
  kQ3_K_S = 11, kQ3_K_M = 12, kQ3_K_L = 13, kQ4_K_S = 14, kQ4_K_M = 15, kQ5_K_S = 16,
  kQ5_K_M = 17, kQ6_K = 18, kIQ4_NL = 25, kIQ4_XS = 30, kBF16 = 32,
};

struct MixEntry {
  std::string_view name;
  Ftype ftype;
  DType base;
};

constexpr MixEntry kMixes[] = {
    {"F32", kAllF32, DType::kF32},   {"F16", kF16, DType::kF16},        {"BF16", kBF16, DType::kBF16},
    {"Q4_0", kQ4_0, DType::kQ4_0},   {"Q4_1", kQ4_1, DType::kQ4_1},     {"Q5_0", kQ5_0, DType::kQ5_0},
    {"Q5_1", kQ5_1, DType::kQ5_1},   {"Q8_0", kQ8_0, DType::kQ8_0},     {"Q2_K", kQ2_K, DType::kQ2_K},
    {"Q3_K_S", kQ3_K_S, DType::kQ3_K}, {"Q3_K_M", kQ3_K_M, DType::kQ3_K}, {"Q3_K_L", kQ3_K_L, DType::kQ3_K},
    {"Q4_K_S", kQ4_K_S, DType::kQ4_K}, {"Q4_K_M", kQ4_K_M, DType::kQ4_K}, {"Q5_K_S", kQ5_K_S, DType::kQ5_K},
    {"Q5_K_M", kQ5_K_M, DType::kQ5_K}, {"Q6_K", kQ6_K, DType::kQ6_K},   {"IQ4_NL", kIQ4_NL, DType::kIQ4_NL},
    {"IQ4_XS", kIQ4_XS, DType::kIQ4_XS},
};

// llama-quantize's aliases.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}};

enum class Role { kOther, kOutput, kTokenEmbd, kAttnV, kAttnOutput, kFfnDown };

// Role and layer ("blk.N.") of a tensor, by llama.cpp's GGUF names.
Role RoleOf(std::string_view name, int* layer) {
  *layer = -1;
  if (name == "output.weight") return Role::kOutput;
  if (name == "token_embd.weight") return Role::kTokenEmbd;
  if (name.substr(0, 4) == "blk.") {
    int l = 0;
    size_t i = 4;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) l = l * 10 + (name[i++] - '0');
    *layer = l;
    const std::string_view rest = name.substr(i);
    if (rest == ".attn_v.weight") return Role::kAttnV;
    if (rest == ".attn_output.weight") return Role::kAttnOutput;
    if (rest == ".ffn_down.weight") return Role::kFfnDown;
  }
  return Role::kOther;
}

// Whether llama-quantize quantizes the tensor at all: matrices named
// "*weight", not norms.
bool Quantizable(std::string_view name, int n_dims) {
  if (n_dims < 2) return false;
  if (name.size() < 6 || name.substr(name.size() - 6) != "weight") return false;
  return name.find("_norm.weight") == std::string_view::npos;
}

DType Fallback(DType t, int64_t cols) {
  if (cols % BlockElems(t) == 0) return t;
  DType f = t;
  switch (t) {
    case DType::kIQ4_XS: f = DType::kIQ4_NL; break;
    case DType::kQ2_K:
    case DType::kQ3_K: f = DType::kQ4_0; break;
    case DType::kQ4_K: f = DType::kQ5_0; break;
    case DType::kQ5_K: f = DType::kQ5_1; break;
    case DType::kQ6_K: f = DType::kQ8_0; break;
    default: break;  // 32-element types have nothing smaller
  }
  return cols % BlockElems(f) == 0 ? f : DType::kF16;
}

}  // namespace

bool UseMoreBits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

std::optional<QuantMix> QuantMix::FromName(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& [alias, target] : kAliases) {
    if (upper == alias) upper = target;
  }
  for (const MixEntry& m : kMixes) {
    if (upper == m.name) return QuantMix(m.name, m.ftype, m.base, BlockElems(m.base) == 1);
  }
  return std::nullopt;
}

QuantMix QuantMix::Pure(DType t) {
  // general.file_type of a file whose matrices are all `t`: the mix of that
  // base type (the _M one for K-quants, as llama-quantize's aliases).
  for (const MixEntry& m : kMixes) {
    if (m.base == t && m.ftype != kQ3_K_S && m.ftype != kQ3_K_L && m.ftype != kQ4_K_S && m.ftype != kQ5_K_S) {
      return QuantMix(DTypeName(t), m.ftype, t, true);
    }
  }
  return QuantMix(DTypeName(t), kAllF32, t, true);
}

QuantMix QuantMix::AsPure() const { return QuantMix(name_, ftype_, base_, true); }

DType QuantMix::TensorType(const MixModelShape& model, std::string_view tensor_name, int n_dims,
                           int64_t cols) const {
  // Pure: every matrix, whatever its name (kvserve's convert has always
  // done so); no fallback, so a row length that does not fit is an error
  // the writer reports.
  if (pure_) return n_dims >= 2 ? base_ : DType::kF32;
  if (!Quantizable(tensor_name, n_dims)) return DType::kF32;
  int i = -1;
  const int n = model.n_layers;
  const int gqa = model.n_kv_heads > 0 ? model.n_heads / model.n_kv_heads : 1;
  Role role = RoleOf(tensor_name, &i);
  if (role == Role::kTokenEmbd && model.tied_output) role = Role::kOutput;
  DType t = base_;
  switch (role) {
    case Role::kOutput:
      if (cols % BlockElems(base_) != 0) {
        t = DType::kQ8_0;
      } else if (base_ != DType::kQ8_0) {
        t = DType::kQ6_K;
      }
      break;
    case Role::kTokenEmbd:
    case Role::kOther: break;
    case Role::kAttnV:
      switch (ftype_) {
        case kQ2_K: t = gqa >= 4 ? DType::kQ4_K : DType::kQ3_K; break;
        case kQ3_K_M: t = i < 2 ? DType::kQ5_K : DType::kQ4_K; break;
        case kQ3_K_L: t = DType::kQ5_K; break;
        case kIQ4_NL:
        case kIQ4_XS:
          if (gqa >= 4) t = DType::kQ5_K;
          break;
        case kQ4_K_M:
        case kQ5_K_M:
          if (UseMoreBits(i, n)) t = DType::kQ6_K;
          break;
        case kQ4_K_S:
          if (i < 4) t = DType::kQ5_K;
          break;
        default: break;
      }
      // llama.cpp's LLM_TYPE_70B (Llama with 80 layers and grouped-query
      // attention): attn_v is 8x smaller than attn_q there, so cheap to lift.
      if (model.arch == "llama" && n == 80 && model.n_kv_heads != model.n_heads &&
          (t == DType::kQ3_K || t == DType::kQ4_K)) {
        t = DType::kQ5_K;
      }
      break;
    case Role::kFfnDown:
      switch (ftype_) {
        case kQ2_K: t = DType::kQ3_K; break;
        case kQ3_K_M: t = i < n / 16 ? DType::kQ5_K : DType::kQ4_K; break;
        case kQ3_K_L: t = DType::kQ5_K; break;
        case kQ4_K_M:
        case kQ5_K_M:
          if (UseMoreBits(i, n)) t = DType::kQ6_K;
          break;
        case kIQ4_NL:
        case kIQ4_XS:
        case kQ4_K_S:
          if (i < n / 8) t = DType::kQ5_K;
          break;
        default: break;
      }
      break;
    case Role::kAttnOutput:
      switch (ftype_) {
        case kQ2_K: t = DType::kQ3_K; break;
        case kQ3_K_M: t = DType::kQ4_K; break;
        case kQ3_K_L: t = DType::kQ5_K; break;
        default: break;
      }
      break;
  }
  return Fallback(t, cols);
}

}  // namespace kvs
