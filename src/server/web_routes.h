// Web routes: the chat page and KV dashboard at GET / (with its files under
// /web/), and GET /v1/kv/snapshot, the dashboard's JSON picture of the KV
// block pool, behind the API key like every /v1 route.
//
// The page itself is public (it holds no data; it asks for the key when the
// API answers 401). Ownership: the routes borrow engine and auth, which must
// outlive the server. Thread-safety: handlers run on the I/O threads;
// EngineLoop::Snapshot is thread-safe.
#pragma once

#include <string>

#include "engine/engine_loop.h"
#include "engine/kv_snapshot.h"
#include "server/auth.h"
#include "server/http_message.h"

namespace kvs::server {

// The snapshot as JSON text: {"object": "kv.snapshot", "sequence", "n_blocks",
// "block_size", "states": "0123..." (one digit per block: 0 free, 1 cached
// and evictable, 2 in use, 3 shared), "block_tenants": [index into tenants
// + 1, 0 for none, per block], "tenants": [{"tag", "blocks"}], "stats": {...}}.
std::string KvSnapshotJson(const KvSnapshot& snapshot);

// Answers GET /, /web/NAME and /v1/kv/snapshot; false (res untouched) for
// any other request.
bool HandleWebRoute(const HttpRequest& req, HttpResponse& res, EngineLoop* engine,
                    const ApiKeyAuth* auth);

}  // namespace kvs::server
