#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

namespace kvs {
namespace {

// llama.cpp's expressions with \s as Unicode White_Space (see the header).
// `isolate_gaps` marks those llama.cpp runs through a hand-written splitter.
#define KVS_WS "\\p{White_Space}"
#define KVS_NWS "\\P{White_Space}"
constexpr const char* kContractionsAnyCase =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" KVS_WS "\\p{L}\\p{N}]+|" KVS_WS
    "+(?!" KVS_NWS ")";
// Llama 3 and Qwen2 differ only in how many digits make one piece.
std::string Llama3Like(const char* digits) {
  return std::string(kContractionsAnyCase) + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" + digits +
         "| ?[^" KVS_WS "\\p{L}\\p{N}]+[\\r\\n]*|" KVS_WS "*[\\r\\n]+|" KVS_WS
         "+(?!" KVS_NWS ")|" KVS_WS "+";
}

struct Expr {
  std::string pattern;
  bool isolate_gaps;  // text no alternative matches: one piece per code point
};

// The expressions for a tokenizer.ggml.pre name; empty if unknown.
std::vector<Expr> ExprsFor(std::string_view name) {
  if (name == "llama-bpe" || name == "llama3") return {{Llama3Like("{1,3}"), true}};
  if (name == "qwen2") return {{Llama3Like(""), true}};
  if (name == "smollm") return {{"\\p{N}", false}, {kGpt2, true}};
  if (name == "gpt2" || name == "gpt-2") return {{kGpt2, true}};
  if (name == "default") {
    return {{"[\\p{P}\\$\\+<=>\\^~\\|]+", false},
            {kGpt2, true},
            {"\\p{N}+", false},
            {"[0-9][0-9][0-9]", false}};
  }
  return {};
}
#undef KVS_WS
#undef KVS_NWS

constexpr const char* kSupported = "llama-bpe, llama3, qwen2, smollm, default, gpt2, gpt-2";

// Length of the UTF-8 sequence led by `c` (1 for a stray byte).
size_t Utf8Length(unsigned char c) {
  if (c >= 0xF0 && c <= 0xF7) return 4;
  if (c >= 0xE0) return c <= 0xEF ? 3 : 1;
  if (c >= 0xC0) return 2;
  return 1;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool isolate_gaps = false;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::~PreTokenizer() = default;

StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Create(std::string_view name) {
  std::vector<Expr> exprs = ExprsFor(name);
  if (exprs.empty()) {
    return UnimplementedError("tokenizer: tokenizer.ggml.pre '" + std::string(name) +
                              "' is not supported (supported: " + kSupported + ")");
  }
  std::unique_ptr<PreTokenizer> p(new PreTokenizer());
  p->name_ = std::string(name);
  for (const Expr& e : exprs) {
    auto r = std::make_unique<Regex>();
    int error = 0;
    PCRE2_SIZE offset = 0;
    r->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(e.pattern.data()), e.pattern.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset,
                            nullptr);
    if (r->code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(error, msg, sizeof(msg));
      return InternalError("tokenizer: pre-tokenizer '" + p->name_ + "' regex error at " +
                           std::to_string(offset) + ": " + reinterpret_cast<char*>(msg));
    }
    // Without JIT (an unsupported CPU) matching still works, only slower.
    (void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
    r->isolate_gaps = e.isolate_gaps;
    p->regexes_.push_back(std::move(r));
  }
  return p;
}

void PreTokenizer::Split(std::string_view text, std::vector<Span>* spans,
                         std::vector<Span>* scratch) const {
  spans->clear();
  if (text.empty()) return;
  spans->push_back({0, text.size()});
  // One match-data block for all expressions: two offsets suffice since
  // none has capturing groups.
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  KVS_CHECK(md != nullptr) << "out of memory";
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (const auto& re : regexes_) {
    scratch->clear();
    auto add_gap = [&](size_t start, size_t end) {
      if (!re->isolate_gaps) {
        if (end > start) scratch->push_back({start, end - start});
        return;
      }
      while (start < end) {
        const size_t n = std::min(end - start, Utf8Length(static_cast<unsigned char>(text[start])));
        scratch->push_back({start, n});
        start += n;
      }
    };
    for (const Span& piece : *spans) {
      // The subject ends at the piece's end so that lookaheads stop there.
      const size_t end = piece.start + piece.size;
      size_t pos = piece.start;
      while (pos < end) {
        int rc = pcre2_match(re->code, subject + piece.start, piece.size, pos - piece.start, 0, md,
                             nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
          // A very long run overflowed JIT's machine stack; the interpreter
          // keeps its backtracking state on the heap.
          rc = pcre2_match(re->code, subject + piece.start, piece.size, pos - piece.start,
                           PCRE2_NO_JIT, md, nullptr);
        }
        if (rc < 0) break;  // no further match in this piece
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t m_start = piece.start + ov[0];
        const size_t m_end = piece.start + ov[1];
        add_gap(pos, m_start);
        if (m_end == m_start) {
          // None of these expressions matches empty; guard anyway.
          add_gap(m_start, std::min(end, m_start + 1));
          pos = m_start + 1;
          continue;
        }
        scratch->push_back({m_start, m_end - m_start});
        pos = m_end;
      }
      add_gap(pos, end);
    }
    std::swap(*spans, *scratch);
  }
  pcre2_match_data_free(md);
}

}  // namespace kvs
