// CreateBackend: picks a Backend implementation by name.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "base/status.h"

namespace kvs {

// name: "cpu" (SIMD, threads; n_threads 0 = all cores; the best kernel
// path this CPU has), "cpu:ISA" (that path: scalar, avx2, avx512, amx; the
// avx512 path takes BF16 by vdpbf16ps or on the bands as
// cpu::Bf16DotIsFaster() says, and "cpu:avx512-bf16dot" or
// "cpu:avx512-bf16bands" pins one: vdpbf16ps and the amx tiles round BF16
// weights' activations to bf16, the bands and avx2 keep them in float)
// or "reference" (scalar oracle, one thread). weights_in_place: see
// CpuBackendOptions (the reference backend reads every matrix in place).
StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& name, int n_threads,
                                                 bool weights_in_place = false);

}  // namespace kvs
