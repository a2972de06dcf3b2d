#include "server/web_routes.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "server/api_error.h"
#include "server/generation_route.h"
#include "server/web_assets.h"

namespace kvs::server {
namespace {

std::string TagHex(uint32_t tag) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, tag >>= 4) s[i] = kHex[tag & 15];
  return s;
}

void ServeAsset(const WebAsset& a, HttpResponse& res) {
  res.SetHeader("Cache-Control", "no-cache");
  res.SetHeader("X-Content-Type-Options", "nosniff");
  // The page loads only its own files and talks only to this server.
  res.SetHeader("Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "connect-src 'self'; frame-ancestors 'none'");
  res.SetContent(std::string(a.body), std::string(a.content_type));
}

// Names the page's files may have (what the old route pattern allowed).
bool IsAssetName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const WebAsset* FindAsset(std::string_view name) {
  for (const WebAsset& a : WebAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace

std::string KvSnapshotJson(const KvSnapshot& snap) {
  using Json = nlohmann::json;
  std::string states(snap.states.size(), '0');
  for (size_t i = 0; i < snap.states.size(); ++i)
    states[i] = static_cast<char>('0' + snap.states[i]);
  std::unordered_map<uint32_t, size_t> index;  // tag -> position in tenants
  Json tenants = Json::array();
  std::vector<int> block_tenants(snap.tenants.size(), 0);
  for (size_t i = 0; i < snap.tenants.size(); ++i) {
    const uint32_t tag = snap.tenants[i];
    if (tag == KvSnapshot::kNoTenant) continue;
    auto [it, inserted] = index.emplace(tag, tenants.size());
    if (inserted) tenants.push_back({{"tag", TagHex(tag)}, {"blocks", 0}});
    tenants[it->second]["blocks"] = tenants[it->second]["blocks"].get<int>() + 1;
    block_tenants[i] = static_cast<int>(it->second) + 1;
  }
  const EngineStats& s = snap.stats;
  Json stats = {{"requests_running", s.requests_running},
                {"requests_waiting", s.requests_waiting},
                {"requests_finished", s.requests_finished},
                {"preemptions", s.preemptions},
                {"prompt_tokens", s.prompt_tokens},
                {"generated_tokens", s.generated_tokens},
                {"prefix_cache_queried_tokens", s.prefix_cache_queried_tokens},
                {"prefix_cache_hit_tokens", s.prefix_cache_hit_tokens},
                {"kv_blocks_used", s.kv_blocks_used},
                {"peak_kv_blocks_used", s.peak_kv_blocks_used},
                {"kv_tokens_used", s.kv_tokens_used},
                {"steps", s.steps}};
  Json j = {{"object", "kv.snapshot"},
            {"sequence", snap.sequence},
            {"n_blocks", snap.states.size()},
            {"block_size", s.kv_block_size},
            {"states", states},
            {"block_tenants", block_tenants},
            {"tenants", tenants},
            {"stats", stats}};
  return j.dump();
}

bool HandleWebRoute(const HttpRequest& req, HttpResponse& res, EngineLoop* engine,
                    const ApiKeyAuth* auth) {
  if (req.method != "GET") return false;
  if (req.path == "/") {
    const WebAsset* page = FindAsset("index.html");
    if (page == nullptr) {
      SendError(res, NotFoundRoute(req.path));
    } else {
      ServeAsset(*page, res);
    }
    return true;
  }
  constexpr std::string_view kWeb = "/web/";
  if (req.path.starts_with(kWeb) && IsAssetName(std::string_view(req.path).substr(kWeb.size()))) {
    const WebAsset* a = FindAsset(std::string_view(req.path).substr(kWeb.size()));
    if (a == nullptr) {
      SendError(res, NotFoundRoute(req.path));
    } else {
      ServeAsset(*a, res);
    }
    return true;
  }
  if (req.path == "/v1/kv/snapshot") {
    if (!auth->Authenticate(req.Header("Authorization"))) {
      SendError(res, Unauthorized());
      return true;
    }
    res.SetHeader("Cache-Control", "no-store");
    res.SetContent(KvSnapshotJson(engine->Snapshot()), "application/json");
    return true;
  }
  return false;
}

}  // namespace kvs::server
