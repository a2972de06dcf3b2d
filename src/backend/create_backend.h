// CreateBackend: picks a Backend implementation by name.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "base/status.h"

namespace kvs {

// name: "cpu" (SIMD, threads; n_threads 0 = all cores; the best kernel
// path this CPU has), "cpu:ISA" (that path: scalar, avx2, avx512, amx; e.g.
// cpu:avx2 keeps BF16 weights' activations in float, which avx512 and amx
// round to bf16)
// or "reference" (scalar oracle, one thread). weights_in_place: see
// CpuBackendOptions (the reference backend reads every matrix in place).
StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& name, int n_threads,
                                                 bool weights_in_place = false);

}  // namespace kvs
