#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "microseg/core/canonical_digest.hpp"

using namespace microseg;

namespace {

DigestItem item(const std::string& name, const std::string& type, std::vector<std::uint64_t> shape,
                const std::vector<std::int64_t>& values) {
  DigestItemHasher hasher(name, type, shape);
  hasher.add_values(values.data(), values.size() * sizeof(std::int64_t));
  return hasher.finish();
}

}  // namespace

TEST_CASE("combined_digest does not depend on the order the items come in", "[digest]") {
  const DigestItem a = item("/a", "int64", {2}, {1, 2});
  const DigestItem b = item("/b", "int64", {2}, {3, 4});
  CHECK(combined_digest({a, b}) == combined_digest({b, a}));
  CHECK(combined_digest({a, b}).size() == 64);
  CHECK(combined_digest({a}) != combined_digest({a, b}));
}

TEST_CASE("an item's digest changes with its name, type, shape and any value", "[digest]") {
  const std::string base = item("/x", "int64", {4}, {1, 2, 3, 4}).sha256;
  CHECK(item("/y", "int64", {4}, {1, 2, 3, 4}).sha256 != base);
  CHECK(item("/x", "uint64", {4}, {1, 2, 3, 4}).sha256 != base);
  CHECK(item("/x", "int64", {2, 2}, {1, 2, 3, 4}).sha256 != base);
  CHECK(item("/x", "int64", {4}, {1, 2, 3, 5}).sha256 != base);
  CHECK(item("/x", "int64", {4}, {1, 2, 3, 4}).sha256 == base);
}

TEST_CASE("strings are length-prefixed, so their split is part of the digest", "[digest]") {
  DigestItemHasher one("/s", "string", {2}), other("/s", "string", {2});
  one.add_text("ab");
  one.add_text("c");
  other.add_text("a");
  other.add_text("bc");
  CHECK(one.finish().sha256 != other.finish().sha256);
}

TEST_CASE("first_differing_item names the first item in name order that differs", "[digest]") {
  const std::vector<DigestItem> left{item("/b", "int64", {1}, {1}), item("/a", "int64", {1}, {1}),
                                     item("/c", "int64", {1}, {1})};
  std::vector<DigestItem> right = left;
  CHECK_FALSE(first_differing_item(left, right).has_value());
  right[2] = item("/c", "int64", {1}, {2});
  right[0] = item("/b", "int64", {1}, {2});
  CHECK(first_differing_item(left, right) == std::optional<std::string>("/b"));
  right.pop_back();
  right[0] = left[0];
  CHECK(first_differing_item(left, right) == std::optional<std::string>("/c"));
}
