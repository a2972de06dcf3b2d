#include "backend/backend.h"

#include "base/check.h"

namespace kvs {

void Backend::MatMulParts(const WeightMatrix& w, const float* x, int64_t n, std::span<const MatMulPart> parts) {
  WeightMatrix part = w;
  int64_t first = 0;
  for (const MatMulPart& p : parts) {
    KVS_CHECK(&p == &parts.back() || p.rows % kMatMulPartAlign == 0) << "MatMulParts: a part of " << p.rows << " rows";
    part.data = w.row(first);
    part.rows = p.rows;
    MatMul(part, x, n, p.out);
    first += p.rows;
  }
  KVS_CHECK(first == w.rows) << "MatMulParts: parts of " << first << " rows for a matrix of " << w.rows;
}

}  // namespace kvs
