#include "backend/create_backend.h"

#include "backend/cpu/cpu_backend.h"
#include "backend/reference/reference_backend.h"

namespace kvs {

StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& name, int n_threads,
                                                 bool weights_in_place) {
  if (name == "reference") return std::make_unique<ReferenceBackend>();
  if (name == "cpu" || name.starts_with("cpu:")) {
    CpuBackendOptions options;
    options.n_threads = n_threads;
    options.weights_in_place = weights_in_place;
    if (name != "cpu") {
      options.isa = cpu::IsaFromName(name.substr(4));
      if (!options.isa) {
        return InvalidArgumentError("unknown backend '" + name + "' (want cpu:scalar, cpu:avx2, cpu:avx512 or cpu:amx)");
      }
    }
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<CpuBackend> cpu, CpuBackend::Create(options));
    return std::unique_ptr<Backend>(std::move(cpu));
  }
  return InvalidArgumentError("unknown backend '" + name + "' (want cpu, cpu:ISA or reference)");
}

}  // namespace kvs
