// ModelFingerprint: what a prefill and a decode engine compare to know they
// run the same model file: SHA-256 over the model's hyperparameters and, for
// every tensor in the file's order, its name, type, shape and bytes. Two
// files that differ in any weight byte differ here (a file re-encoded to
// another format differs too, which is the safe side). Reads every weight
// once (about a second per GB); done once when an engine starts.
//
// MakeKvLayout: the fingerprint with the KV pool's layout and dtype, as the
// handshake (wire.h) sends it.
#pragma once

#include "backend/kv_storage.h"
#include "disagg/wire.h"
#include "model/model.h"

namespace kvs {

Fingerprint ModelFingerprint(const Model& model);
KvLayout MakeKvLayout(const Fingerprint& model, const ModelConfig& config,
                      const KvStorage& storage);

}  // namespace kvs
