// Scenarios: named, deterministic generators of chat requests that
// reproduce the traffic shapes kvserve exists to serve well.
//
//   shared-system-prompt  one long system prompt + a short, different user turn
//   multi-turn            conversations resent whole, growing turn by turn
//   mixed-lengths         prompt and output lengths from a long-tailed law
//   long-generation       a shared prefix and long outputs (KV pressure)
//   multi-tenant          several API keys, each with its own system prompt
//
// A scenario hands out sessions: a session is a list of requests that a
// client sends one after the other (a conversation); every scenario but
// multi-turn has one request per session. Session i depends only on (seed,
// i), so runs are reproducible whatever the concurrency or order. Lengths
// are in tokens, turned into characters with a chars-per-token estimate
// (calibrated against the server by the caller).
//
// Thread-safety: Session() is const and may be called from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace kvs::loadgen {

struct ChatMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

struct RequestSpec {
  std::string api_key;  // "" sends no Authorization header override
  std::vector<ChatMessage> messages;
  int max_tokens = 16;
  int approx_prompt_tokens = 0;  // the generator's estimate, for reports
  std::string tag;               // class of request for per-class stats ("short", "long", tenant)
  int64_t session = 0;
  int turn = 0;
};

// Flags; -1 means "the scenario's default, shrunk to fit max_model_len".
struct ScenarioOptions {
  std::string name;
  uint64_t seed = 1;
  int max_model_len = 2048;
  double chars_per_token = 4.0;
  int system_prompt_tokens = -1;
  int prompt_tokens = -1;  // user turn (median for mixed-lengths)
  int max_tokens = -1;     // output (median for mixed-lengths)
  int turns = -1;          // multi-turn
  int tenants = -1;        // multi-tenant
  std::vector<std::string> api_keys;  // multi-tenant keys; default sk-tenant-<i>
};

// The lengths a scenario resolved to, reported with its results.
struct ResolvedLengths {
  int system_prompt_tokens = 0;
  int prompt_tokens = 0;
  int max_tokens = 0;
  int turns = 1;
  int tenants = 1;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual std::vector<RequestSpec> Session(int64_t index) const = 0;

  const std::string& name() const { return options_.name; }
  const ResolvedLengths& lengths() const { return lengths_; }
  const ScenarioOptions& options() const { return options_; }

 protected:
  Scenario(ScenarioOptions options, ResolvedLengths lengths)
      : options_(std::move(options)), lengths_(lengths) {}

  ScenarioOptions options_;
  ResolvedLengths lengths_;
};

// The names above, in that order.
std::vector<std::string> ScenarioNames();

// Unknown name or lengths that cannot fit max_model_len: kInvalidArgument.
StatusOr<std::unique_ptr<Scenario>> MakeScenario(const ScenarioOptions& options);

// Tokens the chat template and special tokens add per message and per
// request; the fitting leaves this much room.
inline constexpr int kTemplateTokensPerMessage = 8;
inline constexpr int kTemplateTokensPerRequest = 8;

}  // namespace kvs::loadgen
