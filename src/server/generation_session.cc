#include "server/generation_session.h"

#include "server/sse.h"

namespace kvs::server {
namespace {

// What goes out as finish_reason. "abort" is not an OpenAI value, but it is
// what vLLM sends for a request cut short by the server (shutdown).
const char* FinishName(FinishReason r) {
  return r == FinishReason::kNone ? nullptr : FinishReasonName(r);
}

}  // namespace

GenerationSession::GenerationSession(ResponseContext ctx, std::shared_ptr<OutputStream> stream,
                                     const Tokenizer* tokenizer, TokenId last_prompt_token,
                                     bool include_usage, ServerMetrics* metrics,
                                     Clock::time_point arrival)
    : ctx_(std::move(ctx)),
      stream_(std::move(stream)),
      tokenizer_(tokenizer),
      include_usage_(include_usage),
      metrics_(metrics),
      arrival_(arrival),
      prev_token_(last_prompt_token) {}

GenerationSession::~GenerationSession() {
  if (!recorded_finish_) OnClientGone();
}

std::vector<LogprobToken> GenerationSession::Absorb(const StreamDelta& delta) {
  const Clock::time_point now = Clock::now();
  if (!delta.tokens.empty()) {
    if (!seen_token_) {
      metrics_->RecordTimeToFirstToken(std::chrono::duration<double>(now - arrival_).count());
      seen_token_ = true;
    } else {
      metrics_->RecordInterTokenLatency(
          std::chrono::duration<double>(now - last_token_time_).count(),
          static_cast<int>(delta.tokens.size()));
    }
    last_token_time_ = now;
  }
  std::vector<LogprobToken> entries;
  if (ctx_.logprobs) {
    for (const SampleResult& s : delta.samples) {
      LogprobToken t;
      t.token = std::string(tokenizer_->Piece(prev_token_, s.id));
      t.logprob = s.logprob;
      for (const TokenLogprob& alt : s.top) {
        t.top.push_back({std::string(tokenizer_->Piece(prev_token_, alt.id)), alt.logprob});
      }
      t.text_offset = text_offset_;
      text_offset_ += static_cast<int>(t.token.size());
      prev_token_ = s.id;
      entries.push_back(std::move(t));
    }
  }
  if (!delta.tokens.empty()) prev_token_ = delta.tokens.back();
  text_ += delta.text;
  usage_.prompt_tokens = delta.prompt_tokens;
  usage_.cached_tokens = delta.cached_tokens;
  usage_.completion_tokens = delta.completion_tokens;
  return entries;
}

void GenerationSession::Finish(FinishReason reason) {
  finished_ = true;
  if (recorded_finish_) return;
  recorded_finish_ = true;
  metrics_->RecordFinish(reason);
  metrics_->RecordE2eLatency(std::chrono::duration<double>(Clock::now() - arrival_).count());
}

void GenerationSession::OnClientGone() {
  if (recorded_finish_) return;
  Finish(FinishReason::kAbort);
}

ApiOr<nlohmann::json> GenerationSession::Collect() {
  // Bounded by the request's max_tokens; the engine always ends a stream
  // (Shutdown ends it with kAbort), so this loop terminates.
  while (true) {
    std::optional<StreamDelta> delta = stream_->Next(std::chrono::milliseconds(100));
    if (!delta) continue;
    std::vector<LogprobToken> entries = Absorb(*delta);
    logprobs_.insert(logprobs_.end(), std::make_move_iterator(entries.begin()),
                     std::make_move_iterator(entries.end()));
    if (!delta->finished) continue;
    Finish(delta->finish_reason);
    if (delta->finish_reason == FinishReason::kError) return FromStatus(delta->error);
    return BuildResponse(ctx_, text_, FinishName(delta->finish_reason), logprobs_, usage_);
  }
}

std::string GenerationSession::NextSse(std::chrono::milliseconds timeout) {
  if (finished_) return "";
  if (!sent_role_) {
    sent_role_ = true;
    // Chat streams open with the assistant role; completions have no such
    // chunk and go straight to text.
    if (ctx_.endpoint == Endpoint::kChat) {
      return SseData(DumpJson(BuildChunk(ctx_, "", /*first=*/true, {}, nullptr)));
    }
  }
  std::optional<StreamDelta> delta = stream_->Next(timeout);
  if (!delta) return "";
  std::vector<LogprobToken> entries = Absorb(*delta);
  std::string out;
  if (!delta->text.empty() || !entries.empty()) {
    out += SseData(DumpJson(BuildChunk(ctx_, delta->text, false, entries, nullptr)));
  }
  if (!delta->finished) return out;
  Finish(delta->finish_reason);
  if (delta->finish_reason == FinishReason::kError) {
    out += SseData(DumpJson(FromStatus(delta->error).ToJson()));
  } else {
    out += SseData(DumpJson(BuildChunk(ctx_, "", false, {}, FinishName(delta->finish_reason))));
  }
  if (include_usage_) out += SseData(DumpJson(BuildUsageChunk(ctx_, usage_)));
  out += SseDone();
  return out;
}

}  // namespace kvs::server
