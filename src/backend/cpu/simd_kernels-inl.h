// SIMD kernels, written once and compiled twice: kernels_avx2.cc and
// kernels_avx512.cc define KVS_SIMD_NS and include this file, each with its
// own compiler flags. Only those two files may include it (it uses
// intrinsics). Everything here has internal linkage (anonymous namespace) and
// calls no std:: templates, so that no AVX-512 code can be linked into a
// caller on the AVX2 path. Exempt from the 400-line guideline as a SIMD
// kernel file.
//
// Float vectors are 16 lanes on AVX-512, 8 on AVX2. Integer dot products
// work on 32-byte blocks in both: VNNI (vpdpbusd / vpdpwssd) where the
// compiler targets AVX-512 VNNI, maddubs + madd otherwise.
//
// Batch invariance: each output element is computed by the same sequence of
// operations (one accumulator, blocks in order, the same horizontal sum)
// whichever tile shape computes it, so out[t] does not depend on n.
#ifndef KVS_SIMD_NS
#error "define KVS_SIMD_NS before including simd_kernels-inl.h"
#endif

// The kernels live in parts, one concept each; all have internal linkage.
#include "backend/cpu/simd_vec-inl.h"       // vector primitives
#include "backend/cpu/simd_quantize-inl.h"  // activation quantization
#include "backend/cpu/simd_matmul-inl.h"    // MatMul tiles
#include "backend/cpu/simd_matmul_types-inl.h"  // MatMul tiles of the other block types
#include "backend/cpu/simd_dispatch-inl.h"  // tiles over a MatMul, kernel per type
#include "backend/cpu/simd_panel-inl.h"  // prefill through unfolded panels
#include "backend/cpu/simd_bands-inl.h"  // banded F16 / BF16
#include "backend/cpu/simd_attention-inl.h" // attention, SwiGLU

#undef KVS_UNROLL
