#!/usr/bin/python3
"""`kvserve serve` as a router sees it, end to end over HTTP and ZeroMQ.

  scaleout_serve_check.py BASE_URL EVENTS_ENDPOINT

Subscribes to the server's KV events, sends two completions whose token-id
prompts share 48 tokens (the second must hit the first's blocks), then:
- parses GET /metrics with prometheus_client's own parser (Debian's
  python3-prometheus-client, independent of kvserve) and checks the model
  server protocol's families, types, labels and values after the requests;
- decodes the events as vLLM's schema and checks that the subscriber's own
  sha256_cbor hashes of the prompts' full blocks (seed "vllm-none-hash") were
  published, the way a KV-aware router would find the pod holding a prompt.
Prints one line per failed check; exit status 0 when all pass.
"""

import hashlib
import json
import sys
import time
import urllib.request

import cbor2
import msgpack
import zmq
from prometheus_client.parser import text_string_to_metric_families


def sha256_cbor(obj):
    return hashlib.sha256(cbor2.dumps(obj, canonical=True)).digest()


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def main():
    base, events_ep = sys.argv[1], sys.argv[2]
    errors = []
    sub = zmq.Context().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(events_ep)
    model = json.loads(urllib.request.urlopen(base + "/v1/models").read())["data"][0]["id"]
    # PUB/SUB has no handshake, and a loaded machine may take seconds to
    # carry the subscription over: warm-up requests (tokens no later prompt
    # shares) until their events arrive, so that none of the checked
    # prompts' events are published before anyone listens.
    warm = []
    deadline = time.time() + 20
    while time.time() < deadline:
        w = [1 + len(warm)] + [500] * 19  # a first block of its own: no prefix hit
        warm.append(w)
        post(base + "/v1/completions", {"model": model, "prompt": w, "max_tokens": 1, "temperature": 0})
        if sub.poll(500):
            break
    else:
        errors.append("no KV event reached the subscriber in 20 s")
    while sub.poll(200):  # the warm-up's own events
        sub.recv_multipart()
    shared = [(7 * i + 3) % 500 + 1 for i in range(48)]
    prompts = [shared + [11, 12, 13, 14, 15, 16, 17, 18, 19, 20], shared + [30, 31, 32]]
    for p in prompts:
        r = post(base + "/v1/completions", {"model": model, "prompt": p, "max_tokens": 8,
                                            "temperature": 0, "ignore_eos": True})
        if r["usage"]["completion_tokens"] != 8:
            errors.append("completion tokens %r" % r["usage"])

    # /metrics, parsed by prometheus_client; read again while the engine's
    # last step has not reached the stats yet (they follow it within a step).
    deadline = time.time() + 5
    while True:
        text = urllib.request.urlopen(base + "/metrics").read().decode()
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        idle = all(s.value == 0 for n in ("vllm:num_requests_running", "vllm:num_requests_waiting")
                   if n in fams for s in fams[n].samples)
        if idle or time.time() > deadline:
            break
        time.sleep(0.05)
    want_types = {
        "vllm:num_requests_running": "gauge", "vllm:num_requests_waiting": "gauge",
        "vllm:kv_cache_usage_perc": "gauge", "vllm:gpu_cache_usage_perc": "gauge",
        "vllm:cache_config_info": "gauge", "vllm:lora_requests_info": "gauge",
        # prometheus_client strips _total from a counter family's name.
        "vllm:prefix_cache_queries": "counter", "vllm:prefix_cache_hits": "counter",
        "vllm:time_to_first_token_seconds": "histogram",
        "vllm:inter_token_latency_seconds": "histogram",
    }
    for name, t in want_types.items():
        if name not in fams:
            errors.append("missing family %s" % name)
        elif fams[name].type != t:
            errors.append("%s has type %s, want %s" % (name, fams[name].type, t))

    def value(fam, sample_name, **labels):
        for s in fams[fam].samples:
            if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return None

    ml = {"model_name": model, "engine": "0"}
    checks = [
        (value("vllm:num_requests_running", "vllm:num_requests_running", **ml), 0),
        (value("vllm:num_requests_waiting", "vllm:num_requests_waiting", **ml), 0),
        (value("vllm:kv_cache_usage_perc", "vllm:kv_cache_usage_perc", **ml), 0),
        (value("vllm:prefix_cache_queries", "vllm:prefix_cache_queries_total", **ml),
         sum(len(p) for p in prompts + warm)),
        # The second prompt hits the 48 shared tokens: three blocks of 16.
        (value("vllm:prefix_cache_hits", "vllm:prefix_cache_hits_total", **ml), 48),
        (value("vllm:time_to_first_token_seconds", "vllm:time_to_first_token_seconds_count",
               **ml), 2 + len(warm)),
        (value("vllm:cache_config_info", "vllm:cache_config_info", block_size="16"), 1),
    ]
    for i, (got, want) in enumerate(checks):
        if got != want:
            errors.append("metric check %d: got %r, want %r" % (i, got, want))
    itl = value("vllm:inter_token_latency_seconds", "vllm:inter_token_latency_seconds_count", **ml)
    if not itl:
        errors.append("no inter-token latencies recorded")
    lora = value("vllm:lora_requests_info", "vllm:lora_requests_info", max_lora="0",
                 running_lora_adapters="", waiting_lora_adapters="")
    if lora is None or abs(lora - time.time()) > 60:
        errors.append("vllm:lora_requests_info %r is not the scrape's time" % (lora,))

    # KV events: vLLM's schema, and the router's own hashes of the prompts.
    published = set()
    saw_cleared = False
    deadline = time.time() + 3
    while time.time() < deadline:
        if not sub.poll(200):
            continue
        topic, seq, payload = sub.recv_multipart()
        ts, events, dp_rank = msgpack.unpackb(payload)
        for ev in events:
            if ev[0] == "BlockStored":
                published.update(ev[1])
                if ev[4] != 16 or ev[6] != "GPU":
                    errors.append("BlockStored fields %r" % (ev[4:],))
            elif ev[0] == "AllBlocksCleared":
                saw_cleared = True
    none_hash = sha256_cbor("vllm-none-hash")
    n_found = 0
    for p in prompts:
        prev = none_hash
        for b in range(len(p) // 16):
            prev = sha256_cbor((prev, tuple(p[b * 16:(b + 1) * 16]), None))
            h = int.from_bytes(prev, "big") & ((1 << 64) - 1)
            if h in published:
                n_found += 1
            else:
                errors.append("prompt block %d: the router's hash %x was not published" % (b, h))
    print("metrics families ok: %d, prompt blocks found by hash: %d, AllBlocksCleared seen: %s"
          % (len(want_types), n_found, saw_cleared))
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
