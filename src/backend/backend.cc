#include "backend/backend.h"

#include "base/check.h"

namespace kvs {

void CheckMatMulParts(const WeightMatrix& w, std::span<const MatMulPart> parts) {
  int64_t total = 0;
  for (const MatMulPart& p : parts) {
    KVS_CHECK(&p == &parts.back() || p.rows % kMatMulPartAlign == 0) << "MatMulParts: a part of " << p.rows << " rows";
    total += p.rows;
  }
  KVS_CHECK(total == w.rows) << "MatMulParts: parts of " << total << " rows for a matrix of " << w.rows;
}

void Backend::MatMulParts(const WeightMatrix& w, const float* x, int64_t n, std::span<const MatMulPart> parts) {
  CheckMatMulParts(w, parts);
  WeightMatrix part = w;
  int64_t first = 0;
  for (const MatMulPart& p : parts) {
    part.data = w.row(first);
    part.rows = p.rows;
    MatMul(part, x, n, p.out);
    first += p.rows;
  }
}

}  // namespace kvs
