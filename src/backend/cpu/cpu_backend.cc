#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "backend/cpu/pack_bands.h"
#include "backend/cpu/pack_bf16.h"
#include "backend/cpu/pack_quant.h"
#include "base/huge_pages.h"
#include "tensor/quant.h"

namespace kvs {
namespace {

// Weight bytes per chunk that a MatMul thread claims at a time: decode and
// the tile paths kChunkBytes, the other n > 1 paths kBlockBytes. Measured
// for kBlockBytes (bench/matmul_bench, n = 512, Xeon VM with 2 MiB L2,
// against the whole matrix per chunk on one thread): FFN-down (2048 x
// 5632) Q8_0 92-106 -> 121-127 GMAC/s, Q4_0 110-128 -> 168-173, Q4_K
// 101-113 -> 129-145; FFN-up within noise. Two threads, F16 FFN-up against
// 64 KiB chunks: 50-75 -> 77-92. The band path (F16, BF16) kBandChunkBytes
// for every n: decode reads a chunk's two halves as two streams, and
// prefill passes each block of activation columns over all of a chunk's
// bands (TinyLlama F16 prefill 512, 2 threads, against 256 KiB: 104 ->
// 122-131 tok/s, one run each; decode 1 thread 6.4-6.8 with 64-row
// chunks of adjacent bands -> 7.1, as the old row kernel's 6.6-7.1).
constexpr int64_t kChunkBytes = 64 << 10;
constexpr int64_t kBlockBytes = 256 << 10;
constexpr int64_t kBandChunkBytes = 1 << 20;

// Below this much work (elements touched) a parallel section costs more in
// wake-ups than it saves.
constexpr int64_t kMinParallelWork = 1 << 15;

}  // namespace

StatusOr<std::unique_ptr<CpuBackend>> CpuBackend::Create(const CpuBackendOptions& options) {
  const cpu::Isa isa = options.isa.value_or(cpu::BestIsa());
  if (!cpu::IsaSupported(isa)) {
    return FailedPreconditionError("this CPU does not support the " +
                                   std::string(cpu::IsaName(isa)) + " kernels");
  }
  if (options.n_threads < 0) return InvalidArgumentError("n_threads must be >= 0");
  if (options.bf16_dot.value_or(false) && isa != cpu::Isa::kAvx512) {
    return InvalidArgumentError("the vdpbf16ps BF16 kernel is on the avx512 path only, not " +
                                std::string(cpu::IsaName(isa)));
  }
  if (options.bf16_dot.value_or(false) && !cpu::HasAvx512Bf16()) {
    return FailedPreconditionError("the vdpbf16ps BF16 kernel needs AVX512-BF16, which this CPU lacks");
  }
  const bool bf16_dot =
      isa == cpu::Isa::kAvx512 && options.bf16_dot.value_or(cpu::Bf16DotIsFaster() && cpu::HasAvx512Bf16());
  const int64_t prefetch_bytes = options.prefetch_bytes.value_or(cpu::SoftwarePrefetchBytes());
  if (prefetch_bytes < 0 || prefetch_bytes > (1 << 20)) {
    return InvalidArgumentError("prefetch_bytes must be in [0, 1 MiB], not " + std::to_string(prefetch_bytes));
  }
  int n_threads = options.n_threads;
  if (n_threads == 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::unique_ptr<CpuBackend>(
      new CpuBackend(n_threads, cpu::KernelsFor(isa, bf16_dot), options.weights_in_place, prefetch_bytes));
}

CpuBackend::CpuBackend(int n_threads, const cpu::KernelTable& kernels, bool weights_in_place,
                       int64_t prefetch_bytes)
    : pool_(n_threads),
      kernels_(kernels),
      weights_in_place_(weights_in_place),
      prefetch_bytes_(prefetch_bytes),
      slices_(new RowSlice[n_threads]),
      name_("cpu-" + std::string(cpu::IsaName(kernels.isa)) + (kernels.bf16_dot ? "-bf16dot" : "")) {}

template <class Fn>
void CpuBackend::ParallelFor(int64_t n, int64_t cost_per_item, const Fn& fn) {
  if (n <= 0) return;
  if (pool_.n_threads() == 1 || n == 1 || n * cost_per_item < kMinParallelWork) {
    fn(int64_t{0}, n);
    return;
  }
  // One pointer captured: std::function keeps it inline, no allocation.
  struct Ctx {
    const Fn* fn;
    int64_t n;
  } ctx{&fn, n};
  const Ctx* c = &ctx;
  pool_.Run([c](int t, int nt) {
    const int64_t begin = c->n * t / nt;
    const int64_t end = c->n * (t + 1) / nt;
    if (begin < end) (*c->fn)(begin, end);
  });
}

PreparedWeights CpuBackend::PrepareWeights(std::span<const WeightMatrix> ws,
                                           const std::function<void(size_t)>& copied) {
  // Every matrix is copied into one arena, 2 MiB aligned and advised as
  // huge pages: decode streams each matrix every step and 4 KiB pages cost
  // a TLB miss per page; and a file mapping's page-cache pages can be
  // reclaimed or left cold by the host: seen on this VM, TinyLlama F16
  // decode at 3.6-6 tok/s from the mapping against 11-12 from the copy.
  // With weights_in_place_ the matrices read in the file's layout stay in
  // the mapping (offset -1).
  PreparedWeights p;
  p.matrices.assign(ws.begin(), ws.end());
  std::vector<int64_t> offsets(ws.size(), -1);
  size_t total = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    if (ws[i].layout != WeightLayout::kFile) continue;
    const bool reads_packed = kernels_.reads_packed != nullptr && kernels_.reads_packed(ws[i].type);
    const int64_t packed = reads_packed ? cpu::PackedRowBytes(ws[i].type, ws[i].cols) : 0;
    if (packed > 0) {
      p.matrices[i].layout = WeightLayout::kPacked;
      p.matrices[i].packed_row_bytes = packed;
    } else if (kernels_.bf16_matmul_rows != nullptr && cpu::PacksBf16(ws[i])) {
      p.matrices[i].layout = WeightLayout::kPacked;  // same size, panels of 16 rows
      p.matrices[i].packed_row_bytes = ws[i].row_bytes();
    } else if (kernels_.band_matmul_rows != nullptr && cpu::PacksBands(ws[i]) &&
               (ws[i].type == DType::kF16 || (kernels_.bf16_matmul_rows == nullptr && !kernels_.bf16_dot))) {
      // Packed BF16 means tiles where there are tiles: the BF16 matrices
      // they cannot take keep the file's layout there, as BF16 does for
      // vdpbf16ps.
      p.matrices[i].layout = WeightLayout::kPacked;  // same size, bands of 32 rows
      p.matrices[i].packed_row_bytes = ws[i].row_bytes();
    } else if (weights_in_place_) {
      continue;
    }
    offsets[i] = static_cast<int64_t>(total);
    total += (static_cast<size_t>(ws[i].rows * p.matrices[i].row_bytes()) + 63) & ~size_t{63};
  }
  if (total == 0) return p;
  p.storage = AllocateHugePages(total, /*zero=*/false);
  KVS_CHECK(p.storage != nullptr) << "out of memory copying " << total << " bytes of weights";
  for (size_t i = 0; i < ws.size(); ++i) {
    if (offsets[i] < 0) continue;
    const WeightMatrix& w = ws[i];
    uint8_t* dst = p.storage.get() + offsets[i];
    const bool pack = p.matrices[i].layout == WeightLayout::kPacked;
    const int64_t row_bytes = w.row_bytes();
    if (pack && w.type == DType::kBF16 && kernels_.bf16_matmul_rows != nullptr) {  // whole 16-row panels
      ParallelFor(w.rows / cpu::kBf16PanelRows, w.cols * cpu::kBf16PanelRows,
                  [&](int64_t begin, int64_t end) { cpu::PackBf16Panels(w, begin, end, dst); });
    } else if (pack && (w.type == DType::kF16 || w.type == DType::kBF16)) {  // whole 32-row bands
      ParallelFor(w.rows / cpu::kBandRows, w.cols * cpu::kBandRows,
                  [&](int64_t begin, int64_t end) { cpu::PackBands(w, begin, end, dst); });
    } else {
      ParallelFor(w.rows, w.cols, [&](int64_t begin, int64_t end) {
        if (pack) {
          cpu::PackRows(w, begin, end, dst);
        } else {
          std::memcpy(dst + begin * row_bytes, w.row(begin), static_cast<size_t>((end - begin) * row_bytes));
        }
      });
    }
    p.matrices[i].data = dst;
    if (copied) copied(i);
  }
  return p;
}

void CpuBackend::MatMul(const WeightMatrix& w, const float* x, int64_t n, float* out) {
  const MatMulPart whole{out, w.rows};
  MatMulParts(w, x, n, {&whole, 1});
}

void CpuBackend::MatMulParts(const WeightMatrix& w, const float* x, int64_t n, std::span<const MatMulPart> parts) {
  if (n <= 0) return;
  CheckMatMulParts(w, parts);
  float* const out = parts[0].out;
  // One token's parts that lie end to end are one output (decode's fused
  // q | k | v); decode's two streams pair rows across parts, so others
  // take a MatMul each.
  if (n == 1 && parts.size() > 1) {
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i].out != parts[i - 1].out + parts[i - 1].rows) return Backend::MatMulParts(w, x, n, parts);
    }
    parts = parts.first(1);
  }
  KVS_CHECK(w.layout == WeightLayout::kFile || kernels_.reads_packed != nullptr)
      << "a packed matrix given to the " << name_ << " kernels";
  cpu::MatMulArgs a;
  a.type = w.type;
  a.layout = w.layout;
  a.rows = w.rows;
  a.cols = w.cols;
  a.w = static_cast<const uint8_t*>(w.data);
  a.w_row_bytes = w.row_bytes();
  a.x = x;
  a.n = n;
  a.out = out;
  a.prefetch_bytes = prefetch_bytes_;
  const int nt = w.rows * w.cols * n < kMinParallelWork ? 1 : pool_.n_threads();
  const int64_t xq_bytes = cpu::ActRowBytes(kernels_, w.type, w.layout, w.cols);
  // Decode (n == 1) quantizes its one activation row on every thread, each
  // into its own copy (on its own cache lines: the kernels read 64-byte
  // loads), inside the parallel section, so that the workers' start overlaps
  // the caller's quantization instead of waiting for it. (The 89 MatMuls of
  // a TinyLlama step, alternating with the old way in one process: +1-2%;
  // a whole decode step: within +-0.3%, below what could be resolved.)
  const bool quantize_per_thread = xq_bytes > 0 && n == 1;
  // The AMX tiles for prefill (and batched decode) of the packed types
  // AmxReads takes: activations also repacked into tile order, rows padded to
  // whole tiles of 16 tokens, and 16-row panels per thread (slices and
  // chunks below on multiples of 16).
  const bool amx = kernels_.amx_matmul_rows != nullptr && w.layout == WeightLayout::kPacked &&
                   cpu::AmxReads(w.type) && n >= cpu::kAmxMinTokens;
  // BF16 weights packed into tiles (only ever on the AMX path) take the
  // tiles for every n, decode included: activations rounded to bf16 rows,
  // padded to whole tiles of 16 tokens; 32-row slices (two panels).
  const bool sixteen_bit_packed =
      (w.type == DType::kF16 || w.type == DType::kBF16) && w.layout == WeightLayout::kPacked;
  const bool bf16_tiles = sixteen_bit_packed && w.type == DType::kBF16 && kernels_.bf16_matmul_rows != nullptr;
  // F16 and BF16 in 32-row bands (where the BF16 tiles do not take them):
  // the band kernel for every n, decode included; whole bands per chunk.
  const bool bands = sixteen_bit_packed && !bf16_tiles;
  KVS_CHECK(!bands || kernels_.band_matmul_rows != nullptr)
      << "banded " << DTypeName(w.type) << " given to the " << name_ << " kernels";
  const bool tiles = amx || bf16_tiles;
  // Packed Q2_K and most of the packed Q4 family from PanelMinTokens, where
  // AMX does not take them (on AMX: below kAmxMinTokens, and the types with
  // a min at every n): panels of rows unfolded into scratch, the
  // activations as they are.
  const bool panel = !amx && kernels_.panel_matmul_rows != nullptr && w.layout == WeightLayout::kPacked &&
                     cpu::PanelMinTokens(w.type) > 0 && n >= cpu::PanelMinTokens(w.type);
  const int64_t xa_bytes = amx ? cpu::AmxActRowBytes(w.cols) : bf16_tiles ? 2 * w.cols : 0;
  const int64_t scratch_bytes = amx          ? cpu::AmxScratchBytes(w.cols)
                                : bf16_tiles ? 1024
                                : panel      ? cpu::PanelScratchBytes(w.type, w.cols)
                                : bands      ? cpu::kBandScratchBytes
                                             : 0;
  const int64_t scratch_stride = (scratch_bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
  const int64_t padded_n = tiles ? (n + 15) / 16 * 16 : n;
  if (tiles) {
    if (static_cast<int64_t>(xa_.size()) < padded_n * xa_bytes) xa_.resize(padded_n * xa_bytes);
    a.xa = xa_.data();
  }
  if (static_cast<int64_t>(tile_scratch_.size()) < nt * scratch_stride) tile_scratch_.resize(nt * scratch_stride);
  if (bands && n > 1) {
    // Copied once for every thread's chunks (pack_bands.h says why).
    const int64_t bytes = cpu::BandActFloats(n, w.cols) * static_cast<int64_t>(sizeof(float));
    if (static_cast<int64_t>(xa_.size()) < bytes) xa_.resize(bytes);
    auto* xa = reinterpret_cast<float*>(xa_.data());
    ParallelFor(n, w.cols, [&](int64_t begin, int64_t end) { cpu::PackBandActs(x, n, w.cols, begin, end, xa); });
    a.xa = xa_.data();
  }
  if (bf16_tiles) {
    // The padding rows past n keep whatever they held: each output is its
    // own token's dot, so they change no kept result (and clearing them
    // cost decode a memset of 15 rows per MatMul).
    uint8_t* xb = xa_.data();
    ParallelFor(n, w.cols, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) kernels_.bf16_pack_act(x + t * w.cols, w.cols, xb + t * xa_bytes);
    });
  }
  const int64_t row_align = amx ? 16 : bf16_tiles || bands ? 32 : 4;
  const int64_t copy_stride = (xq_bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
  if (xq_bytes > 0) {
    const int64_t size = quantize_per_thread ? nt * copy_stride : padded_n * xq_bytes;
    if (static_cast<int64_t>(xq_.size()) < size) xq_.resize(size);
    uint8_t* xq = xq_.data();
    if (amx) {  // the last token tile's padding: zero quants and scales
      std::memset(xq + n * xq_bytes, 0, static_cast<size_t>((padded_n - n) * xq_bytes));
      for (int64_t t = n; t < padded_n; ++t)
        kernels_.amx_pack_act(xq + t * xq_bytes, xq_bytes, w.cols, t, xa_.data());
    }
    a.xq = xq;
    a.xq_row_bytes = xq_bytes;
    if (!quantize_per_thread) {
      ParallelFor(n, w.cols, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          kernels_.quantize_row(w.type, w.layout, x + t * w.cols, w.cols, xq + t * xq_bytes);
          if (amx) kernels_.amx_pack_act(xq + t * xq_bytes, xq_bytes, w.cols, t, xa_.data());
        }
      });
    }
  }
  // Thread t owns a contiguous slice of rows, [b, e) below, and works
  // through it from the front in chunks of about kChunkBytes of weights;
  // when its own slice is done it takes chunks from the others'. A thread's
  // own chunks stay sequential (what the prefetchers follow); taking over
  // the end of another slice only evens out the finish when one core runs
  // slower, as it often does on a shared machine.
  // n > 1: slice boundaries on multiples of 4, so that tiles stay full.
  // n == 1 (decode): the slice is read as two streams, its front half
  // [b, b + h) and its back half [b + h, b + 2h), a chunk pairing rows
  // [i, i + k) with [i + h, i + h + k) (kernels.h: one core reads two
  // streams faster than one); when e - b is odd, row e - 1 goes alone.
  for (int t = 0; t < nt; ++t) {
    RowSlice& s = slices_[t];
    if (n == 1 && !bf16_tiles && !bands) {
      const int64_t b = w.rows * t / nt, e = w.rows * (t + 1) / nt, h = (e - b) / 2;
      s.next.store(b, std::memory_order_relaxed);
      s.end = b + h;
      s.step = h;
      s.single = (e - b) % 2 != 0 ? e - 1 : -1;
    } else {
      s.next.store((w.rows * t / nt) & ~(row_align - 1), std::memory_order_relaxed);
      s.end = t == nt - 1 ? w.rows : (w.rows * (t + 1) / nt) & ~(row_align - 1);
      s.step = 0;
      s.single = -1;
    }
  }
  // The band path: kBandChunkBytes. Decode otherwise: kChunkBytes per
  // chunk over both streams. The tile paths (AMX,
  // BF16): the whole matrix on one thread, else kChunkBytes. The panel
  // path: a panel. The others, n > 1: kBlockBytes, weights that stay in L2
  // while RunTiles passes every token chunk over them (one thread took the
  // whole matrix per token chunk, so that FFN-down re-read 6 MiB of
  // weights every 3 tokens).
  const int64_t chunk_bytes = tiles ? kChunkBytes : kBlockBytes;
  const int64_t chunk_rows =
      bands                 ? std::max<int64_t>(row_align, (kBandChunkBytes / a.w_row_bytes) & ~(row_align - 1))
      : n == 1 && !bf16_tiles ? std::max<int64_t>(1, kChunkBytes / 2 / a.w_row_bytes)
      : panel               ? cpu::PanelRows(w.type, w.cols)
      : tiles && nt == 1    ? w.rows
                            : std::max<int64_t>(row_align, (chunk_bytes / a.w_row_bytes) & ~(row_align - 1));
  struct Ctx {
    const cpu::MatMulArgs* a;
    const cpu::KernelTable* k;
    RowSlice* slices;
    int64_t chunk;
    uint8_t* xq_copies;  // non-null: each thread quantizes into its own copy
    int64_t copy_stride;
    // Non-null: a tile path (amx_matmul_rows, bf16_matmul_rows,
    // panel_matmul_rows or band_matmul_rows), with each thread's scratch
    // at t * scratch_stride.
    void (*tiles)(const cpu::MatMulArgs&, int64_t, int64_t, uint8_t*);
    uint8_t* scratch;
    int64_t scratch_stride;
    std::span<const MatMulPart> parts;  // n > 1 and more than one: the split output
  } ctx{&a, &kernels_, slices_.get(), chunk_rows,
        quantize_per_thread ? xq_.data() : nullptr, copy_stride,
        amx          ? kernels_.amx_matmul_rows
        : bf16_tiles ? kernels_.bf16_matmul_rows
        : panel      ? kernels_.panel_matmul_rows
        : bands      ? kernels_.band_matmul_rows
                     : nullptr,
        tile_scratch_.data(), scratch_stride, parts.size() > 1 ? parts : std::span<const MatMulPart>()};
  const Ctx* c = &ctx;
  auto work = [c](int t, int nt) {
    cpu::MatMulArgs a = *c->a;
    if (c->xq_copies != nullptr) {
      uint8_t* xq = c->xq_copies + t * c->copy_stride;
      c->k->quantize_row(a.type, a.layout, a.x, a.cols, xq);
      a.xq = xq;
    }
    // Rows [begin, end) of a's matrix (n > 1).
    auto run_rows = [c, t](const cpu::MatMulArgs& a, int64_t begin, int64_t end) {
      if (c->tiles != nullptr) {
        c->tiles(a, begin, end, c->scratch + t * c->scratch_stride);
      } else {
        c->k->matmul_rows(a, begin, end);
      }
    };
    const int64_t single = c->slices[t].single;
    if (single >= 0) c->k->matmul_rows(a, single, single + 1);
    for (int i = 0; i < nt; ++i) {
      RowSlice& s = c->slices[(t + i) % nt];
      for (;;) {
        const int64_t begin = s.next.fetch_add(c->chunk, std::memory_order_relaxed);
        if (begin >= s.end) break;
        const int64_t end = std::min(s.end, begin + c->chunk);
        if (s.step != 0) {
          c->k->matvec_two_streams(a, begin, begin + s.step, end - begin);
        } else if (c->parts.empty()) {
          run_rows(a, begin, end);
        } else {
          // Each part's rows as a matrix of their own, writing its output
          // (the parts start on whole tiles and bands: kMatMulPartAlign).
          int64_t first = 0;
          for (const MatMulPart& p : c->parts) {
            const int64_t b = std::max(begin, first), e = std::min(end, first + p.rows);
            if (b < e) {
              cpu::MatMulArgs pa = a;
              pa.w = a.w + first * a.w_row_bytes;
              pa.rows = p.rows;
              pa.out = p.out;
              run_rows(pa, b - first, e - first);
            }
            first += p.rows;
          }
        }
      }
    }
  };
  if (nt == 1) {
    work(0, 1);
  } else {
    pool_.Run(work);
  }
}

void CpuBackend::GetRows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) {
  KVS_CHECK(w.layout == WeightLayout::kFile) << "GetRows reads only the file's layout";
  ParallelFor(n, w.cols, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) DequantizeRow(w.type, w.row(ids[t]), out + t * w.cols, w.cols);
  });
}

void CpuBackend::RmsNorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                         float* out) {
  // The reference's arithmetic exactly: each row's sum of squares is
  // sequential, element by element. kRows rows run side by side so that
  // their chains of dependent adds overlap: one row alone waits out the add
  // latency per element (about 1.4% of a prefill of 512; kvserve bench,
  // IQ4_XS TinyLlama shape, 1 thread).
  constexpr int64_t kRows = 8;
  ParallelFor(n, dim, [&](int64_t begin, int64_t end) {
    for (int64_t t0 = begin; t0 < end; t0 += kRows) {
      const int64_t rows = std::min(kRows, end - t0);
      float ss[kRows] = {};
      const float* xt = x + t0 * dim;
      if (rows == kRows) {
        // Named sums: kept in registers (as an array, GCC 12 stored and
        // reloaded them every element).
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int64_t j = 0; j < dim; ++j) {
          const float* c = xt + j;
          s0 += c[0] * c[0];
          s1 += c[dim] * c[dim];
          s2 += c[2 * dim] * c[2 * dim];
          s3 += c[3 * dim] * c[3 * dim];
          s4 += c[4 * dim] * c[4 * dim];
          s5 += c[5 * dim] * c[5 * dim];
          s6 += c[6 * dim] * c[6 * dim];
          s7 += c[7 * dim] * c[7 * dim];
        }
        const float all[kRows] = {s0, s1, s2, s3, s4, s5, s6, s7};
        std::copy(all, all + kRows, ss);
      } else {
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < dim; ++j) ss[r] += xt[r * dim + j] * xt[r * dim + j];
      }
      for (int64_t r = 0; r < rows; ++r) {
        float s = ss[r] / static_cast<float>(dim);
        s += eps;
        s = 1.0f / std::sqrt(s);
        const float* xr = xt + r * dim;
        float* ot = out + (t0 + r) * dim;
        // Eight at a time through a local copy: out may be x itself, and
        // GCC then took its scalar loop for the whole row.
        int64_t j = 0;
        for (; j + 8 <= dim; j += 8) {
          float v[8];
          for (int k = 0; k < 8; ++k) v[k] = weight[j + k] * (s * xr[j + k]);
          std::copy(v, v + 8, ot + j);
        }
        for (; j < dim; ++j) ot[j] = weight[j] * (s * xr[j]);
      }
    }
  });
}

void CpuBackend::Rope(float* x, const int32_t* positions, int64_t n, int n_heads, int head_dim,
                      const RopeParams& rope) {
  // Every layer of a step rotates q and k at the same positions: the
  // (cos, sin) table is built once per step (with the reference's exact
  // float expressions) and kept while the positions, head_dim and
  // frequencies stay the same, instead of 2 * n_layers times.
  const int half = head_dim / 2;
  const bool same = rope_head_dim_ == head_dim && rope_freq_base_ == rope.freq_base &&
                    rope_freq_factors_ == rope.freq_factors &&
                    static_cast<int64_t>(rope_positions_.size()) == n &&
                    std::equal(positions, positions + n, rope_positions_.begin());
  if (!same) {
    rope_positions_.assign(positions, positions + n);
    rope_head_dim_ = head_dim;
    rope_freq_base_ = rope.freq_base;
    rope_freq_factors_ = rope.freq_factors;
    if (static_cast<int64_t>(rope_table_.size()) < n * head_dim) rope_table_.resize(n * head_dim);
    float* table_all = rope_table_.data();
    ParallelFor(n, head_dim * 8, [&](int64_t begin, int64_t end) {
      for (int64_t tok = begin; tok < end; ++tok) {
        float* table = table_all + tok * head_dim;  // (cos, sin) of pair p at 2p
        const float pos = static_cast<float>(positions[tok]);
        for (int p = 0; p < half; ++p) {
          float freq = 1.0f / std::pow(rope.freq_base, (2 * p) / static_cast<float>(head_dim));
          if (rope.freq_factors != nullptr) freq /= rope.freq_factors[p];
          const float angle = pos * freq;
          table[2 * p] = std::cos(angle);
          table[2 * p + 1] = std::sin(angle);
        }
      }
    });
  }
  const float* table_all = rope_table_.data();
  // Pair p is (2p, 2p + 1) or (p, p + half): element strides of the pair's
  // first index and between its two elements.
  const bool adjacent = rope.style == RopeStyle::kAdjacent;
  const int first_stride = adjacent ? 2 : 1;
  const int gap = adjacent ? 1 : half;
  ParallelFor(n, int64_t{n_heads} * head_dim, [&](int64_t begin, int64_t end) {
    for (int64_t tok = begin; tok < end; ++tok) {
      const float* table = table_all + tok * head_dim;
      for (int h = 0; h < n_heads; ++h) {
        float* v = x + (tok * n_heads + h) * head_dim;
        for (int p = 0; p < half; ++p) {
          float* a = v + p * first_stride;
          const float v0 = a[0];
          const float v1 = a[gap];
          a[0] = v0 * table[2 * p] - v1 * table[2 * p + 1];
          a[gap] = v0 * table[2 * p + 1] + v1 * table[2 * p];
        }
      }
    }
  });
}

void CpuBackend::SwiGlu(const float* gate, const float* up, int64_t n, int64_t d, float* out) {
  ParallelFor(n * d, 4, [&](int64_t begin, int64_t end) {
    kernels_.swiglu(gate + begin, up + begin, end - begin, out + begin);
  });
}

void CpuBackend::Add(float* x, const float* y, int64_t count) {
  ParallelFor(count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) x[i] += y[i];
  });
}

void CpuBackend::StoreKv(const float* k, const float* v, const int32_t* slots, int64_t n,
                         int64_t kv_dim, DType dtype, uint8_t* k_cache, uint8_t* v_cache) {
  const int64_t row_bytes = KvRowBytes(dtype, kv_dim);
  for (int64_t t = 0; t < n; ++t) {
    uint8_t* kd = k_cache + int64_t{slots[t]} * row_bytes;
    uint8_t* vd = v_cache + int64_t{slots[t]} * row_bytes;
    if (dtype == DType::kF32) {
      std::memcpy(kd, k + t * kv_dim, row_bytes);
      std::memcpy(vd, v + t * kv_dim, row_bytes);
    } else {
      kernels_.store_kv_row(dtype, k + t * kv_dim, kv_dim, kd);
      kernels_.store_kv_row(dtype, v + t * kv_dim, kv_dim, vd);
    }
  }
}

void CpuBackend::PagedAttention(const PagedAttentionArgs& args) {
  const int group = args.n_heads / args.n_kv_heads;
  const int64_t per_thread = cpu::AttentionScratchFloats(group, args.head_dim);
  const int n_threads = pool_.n_threads();
  if (static_cast<int64_t>(attn_scratch_.size()) < n_threads * per_thread) {
    attn_scratch_.resize(n_threads * per_thread);
  }
  const int64_t n_items = args.n_tokens * args.n_kv_heads;
  struct Ctx {
    const PagedAttentionArgs* args;
    const cpu::KernelTable* k;
    float* scratch;
    int64_t per_thread, n_items;
  } ctx{&args, &kernels_, attn_scratch_.data(), per_thread, n_items};
  const Ctx* c = &ctx;
  // Items interleaved over threads: in a prefill later tokens attend to
  // more positions, and striding keeps the threads' shares even.
  auto work = [c](int t, int nt) {
    float* scratch = c->scratch + t * c->per_thread;
    const int n_kv = c->args->n_kv_heads;
    for (int64_t item = t; item < c->n_items; item += nt) {
      c->k->attention(*c->args, item / n_kv, static_cast<int>(item % n_kv), scratch);
    }
  };
  if (n_threads == 1 || n_items == 1) {
    work(0, 1);
  } else {
    pool_.Run(work);
  }
}

void CpuBackend::CopyBlock(uint8_t* cache, int64_t block_bytes, int32_t src, int32_t dst) {
  std::memcpy(cache + int64_t{dst} * block_bytes, cache + int64_t{src} * block_bytes, block_bytes);
}

double CpuBackend::MeasureReadBandwidth(const uint8_t* buf, int64_t bytes, int passes,
                                        bool kernel_pattern) {
  const int nt = pool_.n_threads();
  const int64_t slice = bytes / nt / 256 * 256;
  if (slice <= 0) return 0;
  std::vector<uint64_t> folds(nt);
  struct Ctx {
    const uint8_t* buf;
    int64_t slice;
    uint64_t* folds;
    const cpu::KernelTable* k;
    bool kernel_pattern;
    int64_t prefetch_bytes;
  } ctx{buf, slice, folds.data(), &kernels_, kernel_pattern, prefetch_bytes_};
  const Ctx* c = &ctx;
  double best = 0;
  for (int pass = 0; pass < passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool_.Run([c](int t, int) {
      c->folds[t] ^= c->k->read_fold(c->buf + t * c->slice, c->slice, c->kernel_pattern, c->prefetch_bytes);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(slice) * nt / s / 1e9);
  }
  // A volatile store keeps the folds, and so the reads, from being dropped.
  volatile uint64_t sink = 0;
  for (uint64_t f : folds) sink = sink ^ f;
  return best;
}

}  // namespace kvs
