#include "backend/create_backend.h"

#include "backend/reference/reference_backend.h"

namespace kvs {

StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& name, int n_threads) {
  (void)n_threads;
  if (name == "reference" || name == "cpu") return std::make_unique<ReferenceBackend>();
  return InvalidArgumentError("unknown backend '" + name + "' (want cpu or reference)");
}

}  // namespace kvs
