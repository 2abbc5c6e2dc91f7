#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>

#include "microseg/core/content_digest.hpp"

using namespace microseg;

namespace {

CustomerBlock random_block(std::int64_t n, int d, std::uint32_t seed) {
  CustomerBlock block;
  block.rows = {0, n};
  block.features.resize(n, d);
  std::mt19937 generator(seed);
  std::normal_distribution<float> value(0.0f, 3.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    block.ids.push_back(1000 + 7 * i);
    for (int j = 0; j < d; ++j) block.features(i, j) = value(generator);
  }
  return block;
}

// The rows [begin, end) of `whole` as one rank holds them.
CustomerBlock rows_of(const CustomerBlock& whole, std::int64_t begin, std::int64_t end) {
  CustomerBlock part;
  part.rows = {begin, end};
  part.ids.assign(whole.ids.begin() + begin, whole.ids.begin() + end);
  part.features = whole.features.middleRows(begin, end - begin);
  return part;
}

std::string digest_of(const CustomerBlock& block) {
  return content_digest_text(content_digest_sums(block));
}

}  // namespace

TEST_CASE("The content digest summed over blocks is the whole table's", "[content_digest]") {
  const CustomerBlock whole = random_block(1001, 7, 1);
  ContentDigestSums total;
  const std::int64_t bounds[] = {0, 250, 251, 900, 1001};  // four ranks, one with a single row
  for (int part = 0; part < 4; ++part) {
    const ContentDigestSums sums =
        content_digest_sums(rows_of(whole, bounds[part], bounds[part + 1]));
    total.low += sums.low;
    total.high += sums.high;
  }
  CHECK(content_digest_text(total) == digest_of(whole));
  CHECK(digest_of(whole).size() == 16);
}

TEST_CASE("The content digest changes with any value, id or row order", "[content_digest]") {
  const CustomerBlock original = random_block(200, 5, 2);
  const std::string digest = digest_of(original);
  CHECK(digest_of(random_block(200, 5, 2)) == digest);

  for (int j = 0; j < 5; ++j) {
    CustomerBlock changed = original;
    // The smallest change a float can carry: one unit in the last place.
    changed.features(37, j) = std::nextafter(changed.features(37, j), 1e9f);
    CHECK(digest_of(changed) != digest);
    changed = original;
    changed.features(37, j) = -changed.features(37, j);
    CHECK(digest_of(changed) != digest);
  }
  CustomerBlock new_id = original;
  new_id.ids[120] += 1;
  CHECK(digest_of(new_id) != digest);

  CustomerBlock swapped_rows = original;
  swapped_rows.features.row(3).swap(swapped_rows.features.row(4));
  std::swap(swapped_rows.ids[3], swapped_rows.ids[4]);
  CHECK(digest_of(swapped_rows) != digest);

  CustomerBlock swapped_columns = original;
  std::swap(swapped_columns.features(9, 1), swapped_columns.features(9, 2));
  CHECK(digest_of(swapped_columns) != digest);

  CustomerBlock shifted = original;
  shifted.rows = {10, 210};  // the same rows at another place in the table
  CHECK(digest_of(shifted) != digest);
}
