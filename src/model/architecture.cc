#include "model/architecture.h"

namespace kvs {

StatusOr<const Architecture*> FindArchitecture(std::string_view name) {
  const Architecture* all[] = {&LlamaArchitecture(), &Qwen2Architecture(), &Qwen3Architecture()};
  std::string names;
  for (const Architecture* a : all) {
    if (a->name() == name) return a;
    names += (names.empty() ? "" : ", ") + std::string(a->name());
  }
  return UnimplementedError("architecture '" + std::string(name) +
                            "' is not supported (supported: " + names + ")");
}

}  // namespace kvs
