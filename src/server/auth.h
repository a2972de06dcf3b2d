// ApiKeyAuth: checks "Authorization: Bearer KEY" against the keys given on
// the command line and names the tenant the request belongs to.
//
// The tenant's prefix-cache salt is derived here, on the server, from the
// authenticated key (hex SHA-256 of it), never from anything else the client
// sends: two keys never share cached KV blocks, so one tenant cannot learn
// another's prompts by timing. With no keys configured the server is one
// tenant and the salt is "" (the `user` field is NOT used as a salt: it is
// client-chosen and would let anyone probe any "user"'s cache).
//
// Immutable after construction: thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvs::server {

// Lower-case hex SHA-256 of data (OpenSSL).
std::string Sha256Hex(std::string_view data);

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(const std::vector<std::string>& keys);

  bool enabled() const { return !digests_.empty(); }

  // `authorization` is the Authorization header's value ("" when absent).
  // Returns the tenant salt, or nullopt when the request must get a 401.
  std::optional<std::string> Authenticate(std::string_view authorization) const;

 private:
  // Only digests are kept: comparing fixed-size digests with CRYPTO_memcmp
  // takes the same time whatever the presented key shares with a real one.
  std::vector<std::array<unsigned char, 32>> digests_;
};

}  // namespace kvs::server
