// TransferMetricsText: TransferStats in the Prometheus text format, labelled
// with the worker's role ("prefill" or "decode"), for the /metrics page the
// serve roles will append it to. Names:
//   kvserve_kv_transfer_requests_total{role,result="ok"|"failed"}
//   kvserve_kv_transfer_bytes_total, _blocks_total, _block_layers_total, _frames_total
//   kvserve_kv_transfer_seconds_total{role,phase="compute"|"send"|"exposed"|"tail"|"transfer"|"queue"}
//   kvserve_kv_transfer_hidden_ratio{role}            (prefill: 1 - exposed / send)
//   kvserve_kv_transfer_layer_seconds_total{role,layer,phase="send"|"exposed"}
#pragma once

#include <string>
#include <string_view>

#include "disagg/transfer_stats.h"

namespace kvs {

std::string TransferMetricsText(const TransferStats& s, std::string_view role);

}  // namespace kvs
