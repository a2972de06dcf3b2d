#include "server/generation_session.h"

#include <algorithm>

#include "base/check.h"

#include "server/sse.h"

namespace kvs::server {
namespace {

// What goes out as finish_reason. "abort" is not an OpenAI value, but it is
// what vLLM sends for a request cut short by the server (shutdown).
const char* FinishName(FinishReason r) {
  return r == FinishReason::kNone ? nullptr : FinishReasonName(r);
}

}  // namespace

GenerationSession::GenerationSession(ResponseContext ctx,
                                     std::vector<std::shared_ptr<OutputStream>> streams,
                                     const Tokenizer* tokenizer,
                                     std::vector<TokenId> last_prompt_tokens, bool include_usage,
                                     ServerMetrics* metrics, Clock::time_point arrival,
                                     int group_size, int n_returned)
    : ctx_(std::move(ctx)),
      tokenizer_(tokenizer),
      include_usage_(include_usage),
      metrics_(metrics),
      arrival_(arrival),
      group_size_(group_size > 0 ? group_size : static_cast<int>(streams.size())),
      n_returned_(n_returned > 0 ? n_returned : group_size_) {
  KVS_CHECK_EQ(last_prompt_tokens.size(), streams.size()) << "one last prompt token per stream";
  KVS_CHECK(!streams.empty() && streams.size() % group_size_ == 0) << "whole groups of streams";
  for (size_t i = 0; i < streams.size(); ++i) {
    Choice c;
    c.stream = std::move(streams[i]);
    c.prev_token = last_prompt_tokens[i];
    choices_.push_back(std::move(c));
  }
}

GenerationSession::~GenerationSession() {
  if (!recorded_finish_) OnClientGone();
}

std::string GenerationSession::EchoText(size_t i) const {
  return echo_.echo ? echo_.texts[i / group_size_] : std::string();
}

std::vector<LogprobToken> GenerationSession::EchoLogprobs(size_t i) const {
  std::vector<LogprobToken> out;
  if (!echo_.echo || !ctx_.logprobs) return out;
  const Choice& c = choices_[i];
  TokenId prev = -1;
  LogprobToken first;
  first.token = std::string(tokenizer_->Piece(prev, echo_.first_tokens[i / group_size_]));
  first.no_logprob = true;
  int offset = static_cast<int>(first.token.size());
  prev = echo_.first_tokens[i / group_size_];
  out.push_back(std::move(first));
  for (const SampleResult& s : c.prompt_samples) {
    LogprobToken t;
    t.token = std::string(tokenizer_->Piece(prev, s.id));
    t.logprob = s.logprob;
    for (const TokenLogprob& alt : s.top) t.top.push_back({std::string(tokenizer_->Piece(prev, alt.id)), alt.logprob});
    t.text_offset = offset;
    offset += static_cast<int>(t.token.size());
    prev = s.id;
    out.push_back(std::move(t));
  }
  return out;
}

nlohmann::json GenerationSession::PromptLogprobsJson(size_t i) const {
  if (!echo_.prompt_logprobs) return nullptr;
  nlohmann::json list = nlohmann::json::array({nullptr});  // the first token has none
  TokenId prev = echo_.first_tokens[i / group_size_];
  for (const SampleResult& s : choices_[i].prompt_samples) {
    nlohmann::json entry = nlohmann::json::object();
    entry[std::to_string(s.id)] = {{"logprob", s.logprob}, {"rank", s.rank},
                                   {"decoded_token", std::string(tokenizer_->Piece(prev, s.id))}};
    for (size_t k = 0; k < s.top.size(); ++k) {
      const std::string key = std::to_string(s.top[k].id);
      if (entry.contains(key)) continue;
      entry[key] = {{"logprob", s.top[k].logprob}, {"rank", k + 1},
                    {"decoded_token", std::string(tokenizer_->Piece(prev, s.top[k].id))}};
    }
    list.push_back(std::move(entry));
    prev = s.id;
  }
  return list;
}

void GenerationSession::EnableToolCalls(ToolCallFormat format) {
  tool_calls_ = true;
  tool_format_ = format;
  for (Choice& c : choices_) c.tools = std::make_unique<ToolStreamFilter>(format);
}

std::vector<RequestId> GenerationSession::ids() const {
  std::vector<RequestId> out;
  for (const Choice& c : choices_) out.push_back(c.stream->id());
  return out;
}

bool GenerationSession::AllDone() const {
  for (const Choice& c : choices_) {
    if (!c.done) return false;
  }
  return true;
}

std::optional<StreamDelta> GenerationSession::NextDelta(std::chrono::milliseconds timeout,
                                                        size_t* index) {
  if (choices_.size() == 1) {
    *index = 0;
    return choices_[0].stream->Next(timeout);
  }
  // Several streams: poll them in turn in short slices until the deadline.
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    for (size_t k = 0; k < choices_.size(); ++k) {
      const size_t i = (next_poll_ + k) % choices_.size();
      if (choices_[i].done) continue;
      std::optional<StreamDelta> d = choices_[i].stream->Next(std::chrono::milliseconds(0));
      if (d) {
        next_poll_ = i + 1;
        *index = i;
        return d;
      }
    }
    if (Clock::now() >= deadline) return std::nullopt;
    for (Choice& c : choices_) {
      if (c.done) continue;
      std::optional<StreamDelta> d = c.stream->Next(std::chrono::milliseconds(1));
      if (d) {
        *index = static_cast<size_t>(&c - choices_.data());
        return d;
      }
      break;  // one short wait per round, then poll all again
    }
  }
}

std::vector<LogprobToken> GenerationSession::Absorb(Choice& c, const StreamDelta& delta) {
  const Clock::time_point now = Clock::now();
  if (!delta.tokens.empty()) {
    if (!seen_token_) {
      metrics_->RecordTimeToFirstToken(std::chrono::duration<double>(now - arrival_).count());
      if (std::optional<ImportTiming> t = c.stream->import_timing()) {
        metrics_->RecordImportPhases(t->queue_s, t->transfer_s,
                                     std::chrono::duration<double>(now - t->landed).count());
      }
      seen_token_ = true;
      // Tokens read together with the first (a session that read late, on
      // a busy machine) came 0 s after it: one interval per token after the
      // first, as vLLM counts them, however the reads fell (none for one).
      metrics_->RecordInterTokenLatency(0.0, static_cast<int>(delta.tokens.size()) - 1);
    } else {
      metrics_->RecordInterTokenLatency(
          std::chrono::duration<double>(now - last_token_time_).count(),
          static_cast<int>(delta.tokens.size()));
    }
    last_token_time_ = now;
  }
  std::vector<LogprobToken> entries;
  for (const SampleResult& s : delta.samples) c.cumulative_logprob += s.logprob;
  if (ctx_.logprobs) {
    for (const SampleResult& s : delta.samples) {
      LogprobToken t;
      t.token = std::string(tokenizer_->Piece(c.prev_token, s.id));
      t.logprob = s.logprob;
      for (const TokenLogprob& alt : s.top) {
        t.top.push_back({std::string(tokenizer_->Piece(c.prev_token, alt.id)), alt.logprob});
      }
      t.text_offset = c.text_offset;
      c.text_offset += static_cast<int>(t.token.size());
      c.prev_token = s.id;
      entries.push_back(std::move(t));
    }
  }
  if (!delta.tokens.empty()) c.prev_token = delta.tokens.back();
  if (!delta.prompt_samples.empty()) c.prompt_samples = delta.prompt_samples;
  c.text += delta.text;
  c.completion_tokens = delta.completion_tokens;
  c.prompt_tokens = delta.prompt_tokens;
  c.cached_tokens = delta.cached_tokens;
  usage_ = Usage();
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (!echo_.drop_generated) usage_.completion_tokens += choices_[i].completion_tokens;
    if (i % group_size_ != 0) continue;  // a group's choices share its prompt
    usage_.prompt_tokens += choices_[i].prompt_tokens;
    usage_.cached_tokens += choices_[i].cached_tokens;
  }
  if (delta.finished) {
    c.done = true;
    c.finish = delta.finish_reason;
  }
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

void GenerationSession::SetListener(const std::shared_ptr<StreamListener>& listener) {
  for (Choice& c : choices_) c.stream->SetListener(listener);
}

ApiOr<nlohmann::json> GenerationSession::Collect() {
  // Bounded by the request's max_tokens; the engine always ends a stream
  // (Shutdown ends it with kAbort), so this loop terminates.
  while (!CollectStep(std::chrono::milliseconds(100))) {
  }
  return CollectResult();
}

bool GenerationSession::CollectStep(std::chrono::milliseconds timeout) {
  if (collect_error_) return true;
  while (!AllDone()) {
    size_t i = 0;
    std::optional<StreamDelta> delta = NextDelta(timeout, &i);
    if (!delta) return false;
    timeout = std::chrono::milliseconds(0);  // then take only what is there
    Choice& c = choices_[i];
    std::vector<LogprobToken> entries = Absorb(c, *delta);
    c.logprobs.insert(c.logprobs.end(), std::make_move_iterator(entries.begin()),
                      std::make_move_iterator(entries.end()));
    if (delta->finished && delta->finish_reason == FinishReason::kError) {
      Finish(FinishReason::kError);
      collect_error_ = delta->error;
      return true;
    }
  }
  return true;
}

ApiOr<nlohmann::json> GenerationSession::CollectResult() {
  if (collect_error_) return FromStatus(*collect_error_);
  Finish(choices_[0].finish);
  // Per group (prompt), in order; best_of: the group's n_returned choices
  // with the highest cumulative logprob, in that order (vLLM's rule).
  std::vector<ChoiceResult> results;
  for (size_t g = 0; g < choices_.size(); g += group_size_) {
    std::vector<size_t> order(group_size_);
    for (int i = 0; i < group_size_; ++i) order[i] = g + i;
    if (n_returned_ < group_size_) {
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return choices_[a].cumulative_logprob > choices_[b].cumulative_logprob;
      });
      order.resize(n_returned_);
    }
    for (size_t i : order) {
      ChoiceResult r{choices_[i].text, FinishName(choices_[i].finish), choices_[i].logprobs, {}, nullptr};
      if (echo_.drop_generated) {
        r.text.clear();
        r.logprobs.clear();
      }
      if (echo_.echo) {
        // The prompt first: its text, and its tokens' logprobs before the
        // generated ones (whose offsets move past the prompt).
        const std::string prompt = EchoText(i);
        std::vector<LogprobToken> entries = EchoLogprobs(i);
        for (LogprobToken& t : r.logprobs) t.text_offset += static_cast<int>(prompt.size());
        entries.insert(entries.end(), r.logprobs.begin(), r.logprobs.end());
        r.logprobs = std::move(entries);
        r.text = prompt + r.text;
      }
      r.prompt_logprobs = PromptLogprobsJson(i);
      if (tool_calls_) {
        ToolOutput t = ParseToolOutput(tool_format_, r.text, ctx_.id + "_" + std::to_string(i));
        if (!t.calls.empty()) {
          r.text = std::move(t.content);
          r.tool_calls = std::move(t.calls);
          if (choices_[i].finish == FinishReason::kStop) r.finish_reason = "tool_calls";
        }
      }
      results.push_back(std::move(r));
    }
  }
  return BuildResponse(ctx_, results, usage_);
}

std::string GenerationSession::NextSse(std::chrono::milliseconds timeout) {
  if (finished_) return "";
  std::string out;
  if (!sent_role_) {
    sent_role_ = true;
    // Chat streams open with the assistant role, one chunk per choice;
    // completions have no such chunk and go straight to text.
    if (ctx_.endpoint == Endpoint::kChat) {
      for (size_t i = 0; i < choices_.size(); ++i) {
        out += SseData(DumpJson(BuildChunk(ctx_, "", /*first=*/true, {}, nullptr, static_cast<int>(i))));
      }
      return out;
    }
  }
  size_t i = 0;
  std::optional<StreamDelta> delta = NextDelta(timeout, &i);
  if (!delta) return "";
  const int index = static_cast<int>(i);
  Choice& c = choices_[i];
  std::vector<LogprobToken> entries = Absorb(c, *delta);
  std::string text = c.tools ? c.tools->Feed(delta->text) : delta->text;
  if (echo_.drop_generated) {
    text.clear();
    entries.clear();
  }
  if (echo_.echo) {
    // Generated tokens' offsets count the prompt text before them; the
    // choice's first chunk carries the prompt itself.
    const std::string prompt = EchoText(i);
    for (LogprobToken& t : entries) t.text_offset += static_cast<int>(prompt.size());
    if (!c.sent_echo) {
      c.sent_echo = true;
      std::vector<LogprobToken> prompt_entries = EchoLogprobs(i);
      prompt_entries.insert(prompt_entries.end(), entries.begin(), entries.end());
      entries = std::move(prompt_entries);
      text = prompt + text;
    }
  }
  if (!text.empty() || !entries.empty()) {
    out += SseData(DumpJson(BuildChunk(ctx_, text, false, entries, nullptr, index)));
  }
  if (!delta->finished) return out;
  const char* finish = FinishName(delta->finish_reason);
  if (c.tools && delta->finish_reason != FinishReason::kError) {
    ToolOutput t = c.tools->Finish(ctx_.id + "_" + std::to_string(i));
    if (!t.content.empty()) out += SseData(DumpJson(BuildChunk(ctx_, t.content, false, {}, nullptr, index)));
    if (!t.calls.empty()) {
      out += SseData(DumpJson(BuildToolCallChunk(ctx_, t.calls, index)));
      if (delta->finish_reason == FinishReason::kStop) finish = "tool_calls";
    }
  }
  if (delta->finish_reason == FinishReason::kError) {
    Finish(FinishReason::kError);
    out += SseData(DumpJson(FromStatus(delta->error).ToJson()));
    out += SseDone();
    return out;
  }
  out += SseData(DumpJson(BuildChunk(ctx_, "", false, {}, finish, index)));
  if (!AllDone()) return out;
  Finish(choices_[0].finish);
  if (include_usage_) out += SseData(DumpJson(BuildUsageChunk(ctx_, usage_)));
  out += SseDone();
  return out;
}

}  // namespace kvs::server
