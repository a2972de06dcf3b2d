#include "router/router_stats.h"

#include <cstdio>

namespace kvs::router {

void RouterStats::RecordFirstByte(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_sum_ += seconds;
  ttft_count_++;
}

std::string RouterStats::MetricsText() const {
  std::string out;
  auto line = [&](const std::string& series, double v) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), " %.9g\n", v);
    out += series + buf;
  };
  out += "# HELP kvserve_router_requests_total Generation requests by how they ended.\n"
         "# TYPE kvserve_router_requests_total counter\n";
  line("kvserve_router_requests_total{result=\"ok\"}", double(requests_ok.load()));
  line("kvserve_router_requests_total{result=\"failed\"}", double(requests_failed.load()));
  line("kvserve_router_requests_total{result=\"cancelled\"}", double(requests_cancelled.load()));
  out += "# HELP kvserve_router_retries_total Requests sent again, by why.\n"
         "# TYPE kvserve_router_retries_total counter\n";
  line("kvserve_router_retries_total{reason=\"decode_unreachable\"}",
       double(retries_unreachable.load()));
  line("kvserve_router_retries_total{reason=\"prefill_failed\"}", double(retries_colocated.load()));
  line("kvserve_router_retries_total{reason=\"decode_busy\"}", double(retries_busy.load()));
  out += "# HELP kvserve_router_answers_total Answers by where the prompt was computed.\n"
         "# TYPE kvserve_router_answers_total counter\n";
  line("kvserve_router_answers_total{mode=\"imported\"}", double(disaggregated.load()));
  line("kvserve_router_answers_total{mode=\"colocated\"}", double(colocated.load()));
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP kvserve_router_time_to_first_byte_seconds Arrival to the first output the "
         "client gets.\n# TYPE kvserve_router_time_to_first_byte_seconds summary\n";
  line("kvserve_router_time_to_first_byte_seconds_sum", ttft_sum_);
  line("kvserve_router_time_to_first_byte_seconds_count", double(ttft_count_));
  return out;
}

}  // namespace kvs::router
