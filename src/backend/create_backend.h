// CreateBackend: picks a Backend implementation by name.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "base/status.h"

namespace kvs {

// name: "cpu" (SIMD, threads; n_threads 0 = all cores) or "reference"
// (scalar oracle, one thread).
StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& name, int n_threads);

}  // namespace kvs
