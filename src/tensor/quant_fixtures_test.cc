// Blocks written by llama-quantize itself (the first block of token_embd in
// tinyllama-<TYPE>.gguf, random weights quantized by llama.cpp; printed by
// `bench/compare_ggml_dequant.sh BUILD --fixture FILES`), with the FNV-1a
// hash of the float bits ggml's own dequantization gives for them: our
// decoding must reproduce those bits exactly. bench/compare_ggml_dequant.sh
// checks every tensor of the whole files the same way.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tensor/quant.h"

namespace kvs {
namespace {

struct Fixture {
  DType type;
  const char* hex;     // one block as the file stores it
  uint64_t fnv1a;      // of ggml's decoded floats' bytes
  float first[3];      // ggml's elements 0, 1 and last
};

const Fixture kFixtures[] = {
    {DType::kQ4_1,
        "451c58a8d186104d7c3d73af3099e7d25a998da6",
        0xef5b1af8cc6bde82ull, {-0.0297660828f, -0.00891876221f, 0.00775909424f}},
    {DType::kQ5_0,
        "5818b87281eea2fd2099e75ae64d5121bd94b3320a4b",
        0x9896f62766cde7b6ull, {-0.0296936035f, -0.00636291504f, 0.00848388672f}},
    {DType::kQ5_1,
        "221858a8b87283eec20d209ae96cf75f5122ceb4b4331c5c",
        0x471e52d7d73bbc4cull, {-0.0298995972f, -0.00770187378f, 0.00844192505f}},
    {DType::kIQ4_NL,
        "660dd276214c7c3d73ae3198d6c25a998da5",
        0xb8ff98a70ddbb755ull, {-0.0273480415f, -0.00724887848f, 0.00823736191f}},
    {DType::kQ2_K,
        "bb99ffbc6b7a97acadac6acdcc8aeeddd8d9dc47cebbfd5f541a69c8569a53c56f96548d"
        "a178aa3e5096db6369ded2925e716a6e95e1450691959495aae794a969db89a5b981ba9a"
        "05e8b7b51e625597d717c91a",
        0x34efe2d6df01857full, {-0.0364437103f, -0.0153894424f, 0.0066947937f}},
    {DType::kQ3_K,
        "0e7a4e45bff33a23b4b3b2bed5efb5dc39e7fe94b2daa9e95eb7859b680557c745b3486e"
        "9ec38abf8c3067514d11439f77c858e2ef8138d55d445b2f7e154c8df2b4cae570d8d406"
        "3831636154c4660879e97539062447076ab358162e63cc0945827f7b83aad1a9c303cff0"
        "910e",
        0x1923408eaf0001cdull, {-0.0252492428f, -0.00841641426f, 0.0f}},
    {DType::kQ5_K,
        "e4027612eefff2f2acbfdbe9a9f915bc3a4a7a718bc70e1380a3868ae1d381e863b9a0ca"
        "ec86ffb700e9dbc5325b49d9533ea0faf91cb7ffd1228e14e5330cdcacb0d3e96f2680c5"
        "96f38d6b6bc471951c4d176135cf6f7d8b2e64244be65b53cd1ab44022790006b698d6d0"
        "cef4ba6bf79b85c9df7ebcc57e09f1f89fbfd36c6b7a2978273b202187009d56d501ac79"
        "bdade0e76cf4c3003d0e485976f05a3075da56250f284f1f48a56e0d2b68c130",
        0x5c644c6e17754144ull, {-0.0286154747f, -0.00629711151f, 0.00374984741f}},
    {DType::kIQ4_XS,
        "db80f00f276bdc08d276214c7c3d73ae3198d6c25a998da5ca495ce62e87bdde3568bb27"
        "a6d820356786b9cc4a105026a796a35b67ba877ba664a65d55ca74fcac2e1d969d081d34"
        "9329a4b2b7986864b7ea1ecb47509d29414b63c269ec6a69bc77b8d813eaa9c4b64e27bc"
        "f53af17036b6e3e44bc7847834d496867a8e958129c7a97a1b3e5a99",
        0x55b9ea5b3b690034ull, {-0.0270858407f, -0.00717937946f, 0.00543022156f}},
};

uint64_t Fnv1a(const void* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 0x100000001b3ull;
  return h;
}

TEST(QuantFixturesTest, LlamaQuantizeBlocksDecodeToGgmlsBits) {
  for (const Fixture& f : kFixtures) {
    SCOPED_TRACE(std::string(DTypeName(f.type)));
    const std::string hex = f.hex;
    ASSERT_EQ(static_cast<int64_t>(hex.size()), 2 * BlockBytes(f.type));
    std::vector<uint8_t> block(hex.size() / 2);
    for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    const int64_t n = BlockElems(f.type);
    std::vector<float> y(n);
    DequantizeRow(f.type, block.data(), y.data(), n);
    EXPECT_EQ(y[0], f.first[0]);
    EXPECT_EQ(y[1], f.first[1]);
    EXPECT_EQ(y[n - 1], f.first[2]);
    EXPECT_EQ(Fnv1a(y.data(), n * sizeof(float)), f.fnv1a);
  }
}

}  // namespace
}  // namespace kvs
