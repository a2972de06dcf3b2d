// How much of the KV transfer between a prefill and a decode engine hides
// behind the prefill's compute, per layer, on one machine over loopback.
//
//   disagg_overlap_bench --model M.gguf [--tokenizer T] [--prompt 512]
//       [--requests 4] [--chunk 512] [--threads 1] [--transport tcp|ucx]
//
// For each request (distinct random prompts, prefix caching off on both
// sides) it alternates an anchor, the same prompt prefilled on a runner of
// the same config with no transfer, with the disaggregated run (prefill
// worker -> decode worker, which then decodes one token), and prints the
// prefill wall times and their ratio, the transfer counters and, per layer,
// the send time and the part of it left after the last layer was computed.
// A first request warms both runners and is not counted in the wall times
// (its transfer is in the counters).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "disagg/decode_worker.h"
#include "disagg/model_fingerprint.h"
#include "disagg/prefill_worker.h"
#include "engine/engine.h"
#include "model/model.h"
#include "runtime/backend_runner.h"

namespace kvs {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

#define CHECK_OK(expr)                                                \
  do {                                                                \
    auto _s = (expr);                                                 \
    if (!_s.ok()) {                                                   \
      std::fprintf(stderr, "%s: %s\n", #expr, _s.ToString().c_str()); \
      std::exit(1);                                                   \
    }                                                                 \
  } while (0)

struct Args {
  std::string model, tokenizer, transport = "tcp";
  int prompt = 512, requests = 4, chunk = 512, threads = 1;
};

int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      a.model = v;
    else if (k == "--tokenizer")
      a.tokenizer = v;
    else if (k == "--transport")
      a.transport = v;
    else if (k == "--prompt")
      a.prompt = std::atoi(v.c_str());
    else if (k == "--requests")
      a.requests = std::atoi(v.c_str());
    else if (k == "--chunk")
      a.chunk = std::atoi(v.c_str());
    else if (k == "--threads")
      a.threads = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (a.model.empty() || a.prompt < 2 || a.requests < 1 || a.chunk < 1) {
    std::fprintf(stderr, "usage: disagg_overlap_bench --model M [--prompt N] ...\n");
    return 2;
  }
  auto kind = ParseTransportKind(a.transport);
  CHECK_OK(kind.status());
  auto model = Model::Load(a.model, a.tokenizer);
  CHECK_OK(model.status());
  const Model& m = **model;
  auto t0 = Clock::now();
  const Fingerprint fp = ModelFingerprint(m);
  std::printf("model %s; fingerprint %.2f s\n", m.Describe().c_str(), Since(t0));

  RunnerConfig rc;
  rc.n_threads = a.threads;
  rc.block_size = 16;
  rc.max_kv_tokens = 2 * int64_t{a.prompt} + 64;
  auto anchor = BackendRunner::Create(&m, rc);
  auto prunner = BackendRunner::Create(&m, rc);
  RunnerConfig drc = rc;
  drc.n_threads = 1;
  auto drunner = BackendRunner::Create(&m, drc);
  CHECK_OK(anchor.status());
  CHECK_OK(prunner.status());
  CHECK_OK(drunner.status());
  KvStorage* dstorage = &(*drunner)->mutable_kv_storage();
  EngineConfig ec;
  ec.enable_prefix_caching = false;
  auto engine = Engine::Create(std::move(drunner).value(), &m.tokenizer(), ec);
  CHECK_OK(engine.status());

  auto listener = ListenTransport(*kind, "127.0.0.1", 0);
  CHECK_OK(listener.status());
  StatusOr<std::unique_ptr<Transport>> pt = InternalError("not run");
  std::thread ct([&] { pt = ConnectTransport(*kind, "127.0.0.1", (*listener)->port(), 5000); });
  auto dt = (*listener)->Accept(5000);
  ct.join();
  CHECK_OK(pt.status());
  CHECK_OK(dt.status());
  PrefillWorkerConfig pc;
  pc.max_chunk_tokens = a.chunk;
  pc.enable_prefix_caching = false;
  StatusOr<std::unique_ptr<PrefillWorker>> pw = InternalError("not run");
  std::thread pt_create(
      [&] { pw = PrefillWorker::Create(prunner->get(), fp, std::move(pt).value(), pc); });
  auto dw = DecodeWorker::Create(engine->get(), dstorage, m.config(), fp, std::move(dt).value());
  pt_create.join();
  CHECK_OK(pw.status());
  CHECK_OK(dw.status());

  std::mt19937 rng(1);
  double anchor_total = 0, disagg_total = 0;
  KvCacheManager akv(KvManagerConfig{(*anchor)->n_kv_blocks(), 16, false});
  Batch batch;
  // Request 0 warms both runners (page faults, first-touch) and is not counted.
  for (int r = 0; r <= a.requests; ++r) {
    std::vector<TokenId> prompt{1};
    while (int(prompt.size()) < a.prompt) {
      prompt.push_back(TokenId(3 + rng() % (m.config().n_vocab - 3)));
    }
    const int n = a.prompt - 1;  // what the prefill side computes
    // Anchor: the same chunks, no transfer.
    auto ta = Clock::now();
    CHECK_OK(akv.AllocateSlots(1000 + r, n) ? Status::Ok() : InternalError("anchor KV"));
    std::vector<BlockId> table(akv.BlockTable(1000 + r).begin(), akv.BlockTable(1000 + r).end());
    for (int s = 0; s < n; s += a.chunk) {
      const int k = std::min(a.chunk, n - s);
      batch.Clear();
      batch.AddSequence(std::span<const TokenId>(prompt).subspan(s, k), s, table, false);
      CHECK_OK((*anchor)->Run(batch).status());
    }
    akv.Free(1000 + r);
    const double anchor_s = Since(ta);
    // Disaggregated.
    GenerationRequest req;
    req.prompt = prompt;
    req.sampling.temperature = 0;
    req.stop.max_tokens = 1;
    auto stream = std::make_shared<OutputStream>(r);
    CHECK_OK((*dw)->Submit(r, req, stream));
    Status prefill_status;
    double prefill_s = 0;
    std::thread pthr([&] {
      auto tp = Clock::now();
      prefill_status = (*pw)->Prefill(r, prompt, "");
      prefill_s = Since(tp);
    });
    while (!stream->finished() || (*dw)->HasPending()) {
      (*dw)->Poll();
      if ((*engine)->HasWork()) {
        CHECK_OK((*engine)->Step());
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    pthr.join();
    CHECK_OK(prefill_status);
    const StreamDelta d = stream->WaitAll();
    if (d.finish_reason != FinishReason::kLength) {
      std::fprintf(stderr, "request %d ended %s: %s\n", r, FinishReasonName(d.finish_reason),
                   d.error.ToString().c_str());
      return 1;
    }
    if (r == 0) {
      std::printf("warm-up: prefill alone %.3f s, prefill + transfer %.3f s\n", anchor_s,
                  prefill_s);
      continue;
    }
    anchor_total += anchor_s;
    disagg_total += prefill_s;
    std::printf(
        "request %d: %d prompt tokens; prefill alone %.3f s, prefill + transfer %.3f s (%.3fx)\n",
        r, a.prompt, anchor_s, prefill_s, prefill_s / anchor_s);
  }
  const TransferStats ps = (*pw)->Stats();
  const TransferStats ds = (*dw)->Stats();
  std::printf("\ntransport %s, prefill threads %d, chunk %d, %d requests\n", a.transport.c_str(),
              a.threads, a.chunk, a.requests);
  std::printf("prefill wall: alone %.3f s, with transfer %.3f s: %.3fx\n", anchor_total,
              disagg_total, disagg_total / anchor_total);
  std::printf(
      "sent %lld blocks (%lld block-layers, %.1f MiB, %lld frames); decode side got %.1f MiB\n",
      (long long)ps.blocks, (long long)ps.block_layers, ps.bytes / 1048576.0, (long long)ps.frames,
      ds.bytes / 1048576.0);
  std::printf(
      "compute %.3f s, send busy %.3f s, exposed %.4f s, tail after compute %.4f s, "
      "hidden %.1f%%\n",
      ps.compute_s, ps.send_busy_s, ps.exposed_s, ps.tail_s, 100 * ps.hidden_fraction());
  std::printf("\nlayer  send_ms  exposed_ms  hidden\n");
  for (size_t l = 0; l < ps.layer_busy_s.size(); ++l) {
    const double b = ps.layer_busy_s[l], e = ps.layer_exposed_s[l];
    std::printf("%5zu  %7.2f  %10.2f  %5.1f%%\n", l, 1e3 * b, 1e3 * e,
                b > 0 ? 100 * (1 - e / b) : 100.0);
  }
  return 0;
}

}  // namespace
}  // namespace kvs

int main(int argc, char** argv) { return kvs::Main(argc, argv); }
