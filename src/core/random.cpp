#include "microseg/core/random.hpp"

namespace microseg {
namespace {

std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t keyed_hash(std::uint64_t seed, RandomStream stream, std::uint64_t index,
                         std::uint64_t sub_index) {
  // Each part is mixed into the running state in turn, so swapping two parts changes the hash.
  std::uint64_t state = splitmix64(seed);
  state = splitmix64(state ^ static_cast<std::uint64_t>(stream));
  state = splitmix64(state ^ index);
  return splitmix64(state ^ sub_index);
}

}  // namespace microseg
