// The AMX tile configuration (palette 1) that LDTILECFG reads: the AMX
// kernels' (kernels_amx.cc, bf16_tiles_amx.cc) shapes of their tile
// registers. Each kernel keeps its configuration as a constexpr in
// read-only data, never built on the stack: GCC 12's _tile_loadconfig
// declares only the first 8 bytes of its operand as read, so stores to the
// rest of a stack copy may be dropped (seen: SIGILL at the first
// tileloadd; ggml's AMX kernels fail the same way when built by GCC 12).
#pragma once

#include <cstdint>

namespace kvs::cpu {

struct alignas(64) AmxTileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];  // bytes per row of tile register i
  uint8_t rows[16];    // rows of tile register i
};

}  // namespace kvs::cpu
