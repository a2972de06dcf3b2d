#include "server/web_routes.h"

#include <httplib.h>

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

void ServeAsset(const WebAsset& a, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  // The page loads only its own files and talks only to this server.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                 "connect-src 'self'; frame-ancestors 'none'");
  res.set_content(std::string(a.body), std::string(a.content_type));
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

void InstallWebRoutes(httplib::Server& http, EngineLoop* engine, const ApiKeyAuth* auth) {
  http.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* page = FindAsset("index.html");
    if (page == nullptr) return SendError(res, NotFoundRoute(req.path));
    ServeAsset(*page, res);
  });
  http.Get(R"(/web/([A-Za-z0-9_.-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* a = FindAsset(req.matches[1].str());
    if (a == nullptr) return SendError(res, NotFoundRoute(req.path));
    ServeAsset(*a, res);
  });
  http.Get("/v1/kv/snapshot", [engine, auth](const httplib::Request& req, httplib::Response& res) {
    if (!auth->Authenticate(req.get_header_value("Authorization"))) {
      return SendError(res, Unauthorized());
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(KvSnapshotJson(engine->Snapshot()), "application/json");
  });
}

}  // namespace kvs::server
