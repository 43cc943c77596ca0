// SHA-256 (FIPS 180-4), for the content hash that identifies a model file in results and caches.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace libscout {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  std::array<std::uint8_t, 32> finish();  // the digest; the object is spent afterwards
  std::string hex();                      // finish() as 64 lowercase hex digits

 private:
  void block(const std::uint8_t* p);

  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace libscout
