#include "backend/create_backend.h"

#include <string_view>
#include <utility>

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
      std::string_view path = std::string_view(name).substr(4);
      for (auto [suffix, dot] : {std::pair{"-bf16dot", true}, std::pair{"-bf16bands", false}}) {
        if (path.ends_with(suffix)) {
          path.remove_suffix(std::string_view(suffix).size());
          options.bf16_dot = dot;
        }
      }
      options.isa = cpu::IsaFromName(path);
      if (!options.isa || (options.bf16_dot.has_value() && *options.isa != cpu::Isa::kAvx512)) {
        return InvalidArgumentError("unknown backend '" + name +
                                    "' (want cpu:scalar, cpu:avx2, cpu:avx512, cpu:avx512-bf16dot, "
                                    "cpu:avx512-bf16bands or cpu:amx)");
      }
    }
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<CpuBackend> cpu, CpuBackend::Create(options));
    return std::unique_ptr<Backend>(std::move(cpu));
  }
  return InvalidArgumentError("unknown backend '" + name + "' (want cpu, cpu:ISA or reference)");
}

}  // namespace kvs
