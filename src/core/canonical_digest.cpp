#include "microseg/core/canonical_digest.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace microseg {
namespace {

void sort_by_name(std::vector<DigestItem>& items) {
  std::sort(items.begin(), items.end(),
            [](const DigestItem& a, const DigestItem& b) { return a.name < b.name; });
}

}  // namespace

DigestItemHasher::DigestItemHasher(std::string name, const std::string& type,
                                   const std::vector<std::uint64_t>& shape)
    : name_(std::move(name)) {
  // The header: name, type and shape, each length-prefixed, so no two items share an encoding.
  add_text(name_);
  add_text(type);
  add_count(shape.size());
  for (std::uint64_t extent : shape) add_count(extent);
}

void DigestItemHasher::add_count(std::uint64_t count) {
  std::array<unsigned char, 8> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(count >> (8 * i));
  hash_.update(bytes.data(), bytes.size());
}

void DigestItemHasher::add_values(const void* data, std::size_t bytes) {
  hash_.update(data, bytes);
}

void DigestItemHasher::add_text(std::string_view text) {
  add_count(text.size());
  hash_.update(text);
}

DigestItem DigestItemHasher::finish() {
  return {name_, Sha256::hex(hash_.digest())};
}

std::string combined_digest(std::vector<DigestItem> items) {
  sort_by_name(items);
  Sha256 hash;
  for (const DigestItem& item : items) hash.update(item.name + "\t" + item.sha256 + "\n");
  return Sha256::hex(hash.digest());
}

std::optional<std::string> first_differing_item(std::vector<DigestItem> a,
                                                std::vector<DigestItem> b) {
  sort_by_name(a);
  sort_by_name(b);
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].name < b[j].name)) return a[i].name;
    if (i == a.size() || b[j].name < a[i].name) return b[j].name;
    if (a[i].sha256 != b[j].sha256) return a[i].name;
    ++i;
    ++j;
  }
  return std::nullopt;
}

}  // namespace microseg
