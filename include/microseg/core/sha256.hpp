#pragma once
/// \file SHA-256 (FIPS 180-4), for the sha256 of every output a run's manifest lists. Written
/// here because microseg takes no dependency beyond MPI, HDF5, Eigen, Boost and Catch2.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace microseg {

/// An incremental SHA-256: update() with the message in any number of pieces, then digest().
class Sha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  Sha256();
  void update(const void* data, std::size_t bytes);
  void update(std::string_view text) { update(text.data(), text.size()); }
  /// Pads the message and returns its digest; the object is spent afterwards.
  Digest digest();

  /// The digest as 64 lower-case hexadecimal digits, as sha256sum prints it.
  static std::string hex(const Digest& digest);

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> block_{};
  std::size_t block_used_ = 0;
  std::uint64_t message_bytes_ = 0;
};

/// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

}  // namespace microseg
