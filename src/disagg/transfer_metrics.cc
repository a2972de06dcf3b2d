#include "disagg/transfer_metrics.h"

#include <cstdio>

namespace kvs {
namespace {

void Line(std::string* out, const char* name, const std::string& labels, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  *out += name;
  *out += "{" + labels + "} " + buf + "\n";
}

void Help(std::string* out, const char* name, const char* type, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string TransferMetricsText(const TransferStats& s, std::string_view role_view) {
  const std::string role = "role=\"" + std::string(role_view) + "\"";
  std::string out;
  const char* req = "kvserve_kv_transfer_requests_total";
  Help(&out, req, "counter", "Requests whose KV transfer ended, by result.");
  Line(&out, req, role + ",result=\"ok\"", double(s.requests_ok));
  Line(&out, req, role + ",result=\"failed\"", double(s.requests_failed));
  struct Counter {
    const char* name;
    const char* help;
    int64_t value;
  };
  const Counter counters[] = {
      {"kvserve_kv_transfer_bytes_total", "KV payload bytes moved.", s.bytes},
      {"kvserve_kv_transfer_blocks_total", "KV blocks moved (each once, all layers).", s.blocks},
      {"kvserve_kv_transfer_block_layers_total", "(block, layer) pairs moved.", s.block_layers},
      {"kvserve_kv_transfer_frames_total", "KV layer frames moved.", s.frames},
  };
  for (const Counter& c : counters) {
    Help(&out, c.name, "counter", c.help);
    Line(&out, c.name, role, double(c.value));
  }
  const char* secs = "kvserve_kv_transfer_seconds_total";
  Help(&out, secs, "counter",
       "Time by phase: prefill compute, send busy, send after compute (exposed), wait after "
       "compute (tail), reservation to landing (transfer, decode side), waiting (queue: for "
       "blocks on the decode side, for the prefill engine on the prefill side).");
  Line(&out, secs, role + ",phase=\"compute\"", s.compute_s);
  Line(&out, secs, role + ",phase=\"send\"", s.send_busy_s);
  Line(&out, secs, role + ",phase=\"exposed\"", s.exposed_s);
  Line(&out, secs, role + ",phase=\"tail\"", s.tail_s);
  Line(&out, secs, role + ",phase=\"transfer\"", s.transfer_s);
  Line(&out, secs, role + ",phase=\"queue\"", s.queue_s);
  const char* hidden = "kvserve_kv_transfer_hidden_ratio";
  Help(&out, hidden, "gauge", "Fraction of send time hidden behind prefill compute.");
  Line(&out, hidden, role, s.hidden_fraction());
  if (!s.layer_busy_s.empty()) {
    const char* layer = "kvserve_kv_transfer_layer_seconds_total";
    Help(&out, layer, "counter", "Send time per layer, and its part after the compute ended.");
    for (size_t l = 0; l < s.layer_busy_s.size(); ++l) {
      const std::string lab = role + ",layer=\"" + std::to_string(l) + "\"";
      Line(&out, layer, lab + ",phase=\"send\"", s.layer_busy_s[l]);
      Line(&out, layer, lab + ",phase=\"exposed\"",
           l < s.layer_exposed_s.size() ? s.layer_exposed_s[l] : 0.0);
    }
  }
  return out;
}

}  // namespace kvs
