// Repacking Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K and IQ4_XS weight rows into the packed layout the AVX-512 VNNI
// kernels read (blocks.h, "Packed Q4"; the avx2 ones read it for the types
// KernelTable::reads_packed names): plain byte shuffling, no arithmetic
// on the weights' values, so a packed matrix holds exactly the file's
// numbers.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace kvs::cpu {

// Bytes of one packed row of `cols` elements; 0 when `type` has no packed
// form (the float types).
int64_t PackedRowBytes(DType type, int64_t cols);

// Packs rows [row_begin, row_end) of w (file layout) into dst, which holds
// w.rows rows of PackedRowBytes(w.type, w.cols) bytes. Safe to call on
// disjoint row ranges from several threads.
void PackRows(const WeightMatrix& w, int64_t row_begin, int64_t row_end, uint8_t* dst);

}  // namespace kvs::cpu
