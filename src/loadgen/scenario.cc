#include "loadgen/scenario.h"

#include <algorithm>
#include <cmath>

#include "loadgen/story_text.h"

namespace kvs::loadgen {
namespace {

// One length to fit into the context: `weight` copies of it appear in the
// longest request; an explicit (flag-given) or fixed one is never shrunk.
struct Slot {
  int* value;
  int weight;
  bool shrinkable;
  int min_value;
};

// Shrinks the shrinkable slots proportionally so that sum(weight*value) <=
// budget. Fails when the fixed slots alone do not fit.
Status FitSlots(int budget, const std::vector<Slot>& slots, const std::string& scenario) {
  int64_t fixed = 0, free_sum = 0, free_min = 0;
  for (const Slot& s : slots) {
    if (s.shrinkable) {
      free_sum += int64_t{s.weight} * *s.value;
      free_min += int64_t{s.weight} * s.min_value;
    } else {
      fixed += int64_t{s.weight} * *s.value;
    }
  }
  if (fixed + free_sum <= budget) return Status::Ok();
  if (fixed + free_min > budget) {
    return InvalidArgumentError(scenario + ": the lengths given need about " +
                                std::to_string(fixed + free_min) +
                                " tokens, more than the model's context allows (" +
                                std::to_string(budget) + " usable)");
  }
  const double scale = static_cast<double>(budget - fixed) / static_cast<double>(free_sum);
  for (const Slot& s : slots) {
    if (s.shrinkable) *s.value = std::max(s.min_value, static_cast<int>(*s.value * scale));
  }
  return Status::Ok();
}

// Usable prompt+output tokens of one request with n_messages messages: 10%
// of the context is left for the error of the chars-per-token estimate.
int Usable(int max_model_len, int n_messages) {
  return static_cast<int>(max_model_len * 0.9) - kTemplateTokensPerRequest -
         kTemplateTokensPerMessage * n_messages;
}

int Or(int flag, int def) { return flag >= 0 ? flag : def; }

// `lead` followed by story text, about n_tokens in all: the lead counts
// against the length, so that requests stay within the context they were
// fitted to.
std::string Compose(StoryText& text, const std::string& lead, int n_tokens, double cpt) {
  const int rest = n_tokens - static_cast<int>(lead.size() / cpt) - 1;
  if (rest <= 0) return lead;
  return lead + " " + text.TextOfTokens(rest, cpt);
}

// Number of tokens from a lognormal law with the given median and sigma,
// clipped to [lo, hi].
int LogNormalTokens(StoryText& rng, int median, double sigma, int lo, int hi) {
  const double v = median * std::exp(sigma * rng.Normal());
  return std::clamp(static_cast<int>(std::lround(v)), lo, std::max(lo, hi));
}

class SharedSystemPrompt : public Scenario {
 public:
  SharedSystemPrompt(ScenarioOptions o, ResolvedLengths l) : Scenario(std::move(o), l) {
    StoryText text(MixSeed(options_.seed, 0x5157));
    system_ = Compose(text, "You are a storyteller for small children.", l.system_prompt_tokens,
                      options_.chars_per_token);
  }
  std::vector<RequestSpec> Session(int64_t index) const override {
    StoryText text(MixSeed(options_.seed, static_cast<uint64_t>(index)));
    RequestSpec r;
    r.messages = {{"system", system_},
                  {"user", Compose(text, text.Question(), lengths_.prompt_tokens,
                                   options_.chars_per_token)}};
    r.max_tokens = lengths_.max_tokens;
    r.approx_prompt_tokens = lengths_.system_prompt_tokens + lengths_.prompt_tokens;
    r.tag = "all";
    r.session = index;
    return {r};
  }

 private:
  std::string system_;
};

class MultiTurn : public Scenario {
 public:
  MultiTurn(ScenarioOptions o, ResolvedLengths l) : Scenario(std::move(o), l) {}
  std::vector<RequestSpec> Session(int64_t index) const override {
    StoryText text(MixSeed(options_.seed, static_cast<uint64_t>(index)));
    const double cpt = options_.chars_per_token;
    std::vector<ChatMessage> history = {
        {"system", Compose(text, "You tell stories.", lengths_.system_prompt_tokens, cpt)}};
    std::vector<RequestSpec> turns;
    int approx = lengths_.system_prompt_tokens;
    for (int t = 0; t < lengths_.turns; ++t) {
      if (t > 0) {
        // The previous answer, synthesized rather than the server's so that
        // prompts depend only on the seed; it has the reply's length.
        history.push_back({"assistant", text.TextOfTokens(lengths_.max_tokens, cpt)});
        approx += lengths_.max_tokens;
      }
      history.push_back({"user", Compose(text, text.Question(), lengths_.prompt_tokens, cpt)});
      approx += lengths_.prompt_tokens;
      RequestSpec r;
      r.messages = history;
      r.max_tokens = lengths_.max_tokens;
      r.approx_prompt_tokens = approx;
      r.tag = "turn" + std::to_string(t);
      r.session = index;
      r.turn = t;
      turns.push_back(std::move(r));
    }
    return turns;
  }
};

class MixedLengths : public Scenario {
 public:
  MixedLengths(ScenarioOptions o, ResolvedLengths l, int usable)
      : Scenario(std::move(o), l), usable_(usable) {}
  std::vector<RequestSpec> Session(int64_t index) const override {
    StoryText text(MixSeed(options_.seed, static_cast<uint64_t>(index)));
    const int prompt = LogNormalTokens(text, lengths_.prompt_tokens, 1.0, 4, usable_ * 3 / 4);
    const int out = LogNormalTokens(text, lengths_.max_tokens, 0.8, 2, usable_ - prompt);
    RequestSpec r;
    r.messages = {{"user", text.TextOfTokens(prompt, options_.chars_per_token)}};
    r.max_tokens = out;
    r.approx_prompt_tokens = prompt;
    // Requests at or under the median prompt are "short": the ones whose
    // inter-token latency a long prefill in the same step would hurt.
    r.tag = prompt <= lengths_.prompt_tokens ? "short" : "long";
    r.session = index;
    return {r};
  }

 private:
  int usable_;
};

class LongGeneration : public SharedSystemPrompt {
 public:
  using SharedSystemPrompt::SharedSystemPrompt;
};

class MultiTenant : public Scenario {
 public:
  MultiTenant(ScenarioOptions o, ResolvedLengths l) : Scenario(std::move(o), l) {
    for (int t = 0; t < l.tenants; ++t) {
      StoryText text(MixSeed(options_.seed, 0x7e0000 + t));
      systems_.push_back(Compose(text, "You are story helper number " + std::to_string(t) + ".",
                                 l.system_prompt_tokens, options_.chars_per_token));
      keys_.push_back(t < static_cast<int>(options_.api_keys.size())
                          ? options_.api_keys[t]
                          : "sk-tenant-" + std::to_string(t));
    }
  }
  std::vector<RequestSpec> Session(int64_t index) const override {
    StoryText text(MixSeed(options_.seed, static_cast<uint64_t>(index)));
    const int tenant = static_cast<int>(text.Uniform(systems_.size()));
    RequestSpec r;
    r.api_key = keys_[tenant];
    r.messages = {{"system", systems_[tenant]},
                  {"user", Compose(text, text.Question(), lengths_.prompt_tokens,
                                   options_.chars_per_token)}};
    r.max_tokens = lengths_.max_tokens;
    r.approx_prompt_tokens = lengths_.system_prompt_tokens + lengths_.prompt_tokens;
    r.tag = "tenant" + std::to_string(tenant);
    r.session = index;
    return {r};
  }

 private:
  std::vector<std::string> systems_;
  std::vector<std::string> keys_;
};

}  // namespace

std::vector<std::string> ScenarioNames() {
  return {"shared-system-prompt", "multi-turn", "mixed-lengths", "long-generation",
          "multi-tenant"};
}

StatusOr<std::unique_ptr<Scenario>> MakeScenario(const ScenarioOptions& o) {
  if (o.max_model_len < 64) return InvalidArgumentError("max_model_len too small for a scenario");
  if (o.chars_per_token <= 0) return InvalidArgumentError("chars_per_token must be positive");
  ResolvedLengths l;
  const bool sys_set = o.system_prompt_tokens >= 0, prompt_set = o.prompt_tokens >= 0,
             out_set = o.max_tokens >= 0;
  if (o.name == "shared-system-prompt" || o.name == "multi-tenant") {
    const bool tenants = o.name == "multi-tenant";
    l.system_prompt_tokens = Or(o.system_prompt_tokens, tenants ? 512 : 1000);
    l.prompt_tokens = Or(o.prompt_tokens, 24);  // a question and a sentence or two
    l.max_tokens = Or(o.max_tokens, tenants ? 32 : 64);
    l.tenants = tenants ? Or(o.tenants, 4) : 1;
    if (l.tenants < 1) return InvalidArgumentError("--tenants must be >= 1");
    KVS_RETURN_IF_ERROR(FitSlots(Usable(o.max_model_len, 2),
                                 {{&l.system_prompt_tokens, 1, !sys_set, 16},
                                  {&l.prompt_tokens, 1, false, 0},
                                  {&l.max_tokens, 1, !out_set, 4}},
                                 o.name));
    if (tenants) return std::unique_ptr<Scenario>(new MultiTenant(o, l));
    return std::unique_ptr<Scenario>(new SharedSystemPrompt(o, l));
  }
  if (o.name == "multi-turn") {
    l.turns = Or(o.turns, 4);
    if (l.turns < 1) return InvalidArgumentError("--turns must be >= 1");
    l.system_prompt_tokens = Or(o.system_prompt_tokens, 128);
    l.prompt_tokens = Or(o.prompt_tokens, 48);
    l.max_tokens = Or(o.max_tokens, 64);
    KVS_RETURN_IF_ERROR(FitSlots(Usable(o.max_model_len, 2 * l.turns),
                                 {{&l.system_prompt_tokens, 1, !sys_set, 8},
                                  {&l.prompt_tokens, l.turns, !prompt_set, 8},
                                  {&l.max_tokens, l.turns, !out_set, 4}},
                                 o.name));
    return std::unique_ptr<Scenario>(new MultiTurn(o, l));
  }
  if (o.name == "mixed-lengths") {
    const int usable = Usable(o.max_model_len, 1);
    l.prompt_tokens = Or(o.prompt_tokens, 256);
    l.max_tokens = Or(o.max_tokens, 128);
    // Medians use a third of the context so that the long tail has room.
    KVS_RETURN_IF_ERROR(FitSlots(usable / 3,
                                 {{&l.prompt_tokens, 1, !prompt_set, 8},
                                  {&l.max_tokens, 1, !out_set, 4}},
                                 o.name));
    return std::unique_ptr<Scenario>(new MixedLengths(o, l, usable));
  }
  if (o.name == "long-generation") {
    const int usable = Usable(o.max_model_len, 2);
    l.system_prompt_tokens = Or(o.system_prompt_tokens, std::min(128, o.max_model_len / 8));
    l.prompt_tokens = Or(o.prompt_tokens, 16);
    const int room = usable - l.system_prompt_tokens - l.prompt_tokens;
    l.max_tokens = Or(o.max_tokens, std::min(1024, room));
    KVS_RETURN_IF_ERROR(FitSlots(usable,
                                 {{&l.system_prompt_tokens, 1, !sys_set, 8},
                                  {&l.prompt_tokens, 1, false, 0},
                                  {&l.max_tokens, 1, !out_set, 4}},
                                 o.name));
    return std::unique_ptr<Scenario>(new LongGeneration(o, l));
  }
  std::string names;
  for (const auto& n : ScenarioNames()) names += (names.empty() ? "" : ", ") + n;
  return InvalidArgumentError("unknown scenario '" + o.name + "' (known: " + names + ")");
}

}  // namespace kvs::loadgen
