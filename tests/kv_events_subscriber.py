#!/usr/bin/python3
"""An independent KV-event subscriber, decoding exactly vLLM's schema.

Written from vLLM's vllm/distributed/kv_events.py (msgspec structs with
array_like=True, omit_defaults=True, tag=True) and kv_cache_utils.py
(sha256_cbor, NONE_HASH, the int form of block hashes); it shares no code
with kvserve. Driven by tests/kv_events_test.cc:

  kv_events_subscriber.py PUB_ENDPOINT REPLAY_ENDPOINT WORKDIR HASH_MODE DROP_SEQ

It subscribes, writes WORKDIR/ready once connected, deliberately ignores the
first live message numbered DROP_SEQ or more (a lost message), and waits for a line
"done LAST_SEQ" on stdin. It then asks the replay socket for every sequence
number it has not got, rebuilds the set of cached blocks from the events,
and writes WORKDIR/result.json. With HASH_MODE sha256_cbor it also
recomputes every published block hash from the token ids it carries (and
every prompt's block hashes from WORKDIR/prompts.json) the way vLLM does.
Exit status 0 means every check passed; failures are printed to stderr.
"""

import hashlib
import json
import os
import sys
import threading

import cbor2
import msgpack
import zmq

END_SEQ = (-1).to_bytes(8, "big", signed=True)


def sha256_cbor(obj):
    # vllm.utils.hashing.sha256_cbor
    return hashlib.sha256(cbor2.dumps(obj, canonical=True)).digest()


def external(h):
    # vllm.v1.core.kv_cache_utils.maybe_convert_block_hash (int form)
    return int.from_bytes(h, byteorder="big") & ((1 << 64) - 1)


def decode_batch(payload):
    """[ts, [events], dp_rank] with tagged array-like events; strict."""
    batch = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    if not isinstance(batch, list) or len(batch) not in (2, 3):
        raise ValueError("batch is not [ts, events(, dp_rank)]: %r" % (batch,))
    ts, events = batch[0], batch[1]
    if not isinstance(ts, float):
        raise ValueError("ts is not a float")
    dp_rank = batch[2] if len(batch) == 3 else None
    out = []
    for ev in events:
        tag = ev[0]
        if tag == "BlockStored":
            if len(ev) != 7:
                raise ValueError("BlockStored has %d fields" % len(ev))
            _, hashes, parent, tokens, block_size, lora_id, medium = ev
            if not all(isinstance(h, int) for h in hashes):
                raise ValueError("block hashes are not ints")
            if len(tokens) != len(hashes) * block_size:
                raise ValueError("token_ids do not fill the blocks")
            if lora_id is not None or medium != "GPU":
                raise ValueError("unexpected lora_id/medium %r %r" % (lora_id, medium))
            out.append(("stored", hashes, parent, tokens, block_size))
        elif tag == "BlockRemoved":
            if len(ev) != 3:
                raise ValueError("BlockRemoved has %d fields" % len(ev))
            out.append(("removed", ev[1]))
        elif tag == "AllBlocksCleared":
            out.append(("cleared",))
        else:
            raise ValueError("unknown event tag %r" % (tag,))
    return ts, out, dp_rank


def main():
    pub_ep, replay_ep, workdir, hash_mode, drop_seq = sys.argv[1:6]
    drop_seq = int(drop_seq)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(pub_ep)
    replay = ctx.socket(zmq.DEALER)
    replay.connect(replay_ep)

    got = {}  # seq -> payload
    dropped_once = [False]
    done = threading.Event()
    last_seq = [None]

    def read_stdin():
        for line in sys.stdin:
            parts = line.split()
            if parts and parts[0] == "done":
                last_seq[0] = int(parts[1])
                done.set()
                return
        done.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    # The connection is up once the first message could arrive; there is no
    # handshake on PUB/SUB, so signal readiness after a short settle and rely
    # on the replay socket for anything sent before.
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    poller.poll(200)
    open(os.path.join(workdir, "ready"), "w").close()

    errors = []
    n_gaps = 0
    while True:
        events = dict(poller.poll(50))
        if sub in events:
            topic, seq_bytes, payload = sub.recv_multipart()
            seq = int.from_bytes(seq_bytes, "big")
            if seq >= drop_seq and not dropped_once[0]:
                # Lost on the way: must come back by replay.
                dropped_once[0] = True
                drop_seq = seq
                continue
            got[seq] = payload
        elif done.is_set():
            # Drain anything still in flight, then stop.
            if not dict(poller.poll(300)):
                break

    if last_seq[0] is None:
        print("no 'done' line", file=sys.stderr)
        sys.exit(2)
    missing = [s for s in range(last_seq[0] + 1) if s not in got]
    if missing:
        n_gaps = len(missing)
        replay.send_multipart([b"", min(missing).to_bytes(8, "big")])
        while True:
            if not replay.poll(5000):
                errors.append("replay timed out")
                break
            _, seq_bytes, payload = replay.recv_multipart()
            if seq_bytes == END_SEQ:
                break
            got.setdefault(int.from_bytes(seq_bytes, "big"), payload)
    still_missing = [s for s in range(last_seq[0] + 1) if s not in got]
    if still_missing:
        errors.append("sequence numbers never recovered: %r" % still_missing[:10])

    # Rebuild the cached set, in sequence order.
    cached = set()
    published = set()
    stored_events = []
    for seq in sorted(got):
        ts, evs, dp_rank = decode_batch(got[seq])
        if dp_rank != 0:
            errors.append("data_parallel_rank %r" % (dp_rank,))
        for ev in evs:
            if ev[0] == "stored":
                for h in ev[1]:
                    if h in cached:
                        errors.append("block %x stored twice without removal" % h)
                    cached.add(h)
                    published.add(h)
                stored_events.append(ev)
            elif ev[0] == "removed":
                for h in ev[1]:
                    if h not in cached:
                        errors.append("block %x removed but not cached" % h)
                    cached.discard(h)
            else:
                cached.clear()

    result = {"cached": sorted(cached), "n_batches": len(got), "n_replayed_gaps": n_gaps,
              "dropped": dropped_once[0], "drop_recovered": drop_seq in got,
              "n_verified_hashes": 0,
              "n_prompt_blocks_checked": 0}

    if hash_mode == "sha256_cbor":
        with open(os.path.join(workdir, "prompts.json")) as f:
            spec = json.load(f)
        seed = spec["seed"]
        block_size = spec["block_size"]
        salts = sorted(set(p["salt"] for p in spec["prompts"]))
        none_hash = sha256_cbor(seed)  # init_none_hash: hash_fn(seed)
        full = {}  # int form -> 32-byte hash, for every verified block
        n_verified = 0
        for _, hashes, parent, tokens, bs in stored_events:
            if bs != block_size:
                errors.append("block_size %d, expected %d" % (bs, block_size))
            if parent is None:
                prev = None
            elif parent in full:
                prev = full[parent]
            else:
                errors.append("parent %x of a stored chain is unknown" % parent)
                continue
            for i, h in enumerate(hashes):
                blk = tuple(tokens[i * bs:(i + 1) * bs])
                if prev is None:
                    # First block: extra keys (cache_salt,) when salted.
                    cands = [sha256_cbor((none_hash, blk, (s,) if s else None)) for s in salts]
                else:
                    cands = [sha256_cbor((prev, blk, None))]
                match = [c for c in cands if external(c) == h]
                if not match:
                    errors.append("published hash %x is not sha256_cbor of its tokens" % h)
                    break
                prev = match[0]
                full[h] = prev
                n_verified += 1
        result["n_verified_hashes"] = n_verified
        # A router's view: hash each prompt's full blocks from its token ids.
        n_checked = 0
        for p in spec["prompts"]:
            ids, salt = p["tokens"], p["salt"]
            prev = none_hash
            for b in range(len(ids) // block_size):
                blk = tuple(ids[b * block_size:(b + 1) * block_size])
                extra = (salt,) if (b == 0 and salt) else None
                prev = sha256_cbor((prev, blk, extra))
                n_checked += 1
                if external(prev) not in published:
                    errors.append("prompt block %d (salt %r) hash %x never published" %
                                  (b, salt, external(prev)))
        result["n_prompt_blocks_checked"] = n_checked

    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(result, f)
    for e in errors[:20]:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
