#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace kvs::server {
namespace {

std::array<unsigned char, 32> Digest(std::string_view data) {
  std::array<unsigned char, 32> d;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return d;
}

std::string Hex(const std::array<unsigned char, 32>& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) { return Hex(Digest(data)); }

ApiKeyAuth::ApiKeyAuth(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    if (!k.empty()) digests_.push_back(Digest(k));
  }
}

std::optional<std::string> ApiKeyAuth::Authenticate(std::string_view authorization) const {
  if (!enabled()) return std::string();
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.substr(0, kBearer.size()) != kBearer) {
    return std::nullopt;
  }
  std::array<unsigned char, 32> presented = Digest(authorization.substr(kBearer.size()));
  bool match = false;
  for (const auto& d : digests_) {
    // No early exit: every key is compared.
    match |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0;
  }
  if (!match) return std::nullopt;
  return Hex(presented);
}

}  // namespace kvs::server
