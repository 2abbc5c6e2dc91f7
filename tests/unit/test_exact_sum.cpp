#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "microseg/core/exact_sum.hpp"

using microseg::ExactSum;
using microseg::FixedPointFormat;
using microseg::FixedPointFormat64;
using microseg::FloatExactSum;

namespace {

std::vector<double> mixed_magnitude_terms(std::size_t count, double bound, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> shift(0, 40);
  std::vector<double> terms(count);
  for (double& term : terms) term = std::ldexp(mantissa(engine), -shift(engine)) * bound;
  return terms;
}

ExactSum exact_total(const std::vector<double>& terms, const FixedPointFormat& format) {
  ExactSum total = 0;
  for (double term : terms) total += format.to_fixed(term);
  return total;
}

}  // namespace

TEST_CASE("FixedPointFormat::for_bound puts bound times terms between 2^123 and 2^125 on the grid",
          "[exact_sum]") {
  for (double bound : {1e-250, 1e-9, 0.75, 1.0, 3.0, 1e6, 1e300}) {
    for (std::int64_t terms : {std::int64_t{1}, std::int64_t{2}, std::int64_t{3},
                               std::int64_t{1000}, std::int64_t{1} << 40}) {
      const FixedPointFormat format = FixedPointFormat::for_bound(bound, terms);
      // log2(bound · terms · 2^e) computed without overflow.
      const double log2_total =
          std::log2(bound) + std::log2(static_cast<double>(terms)) + format.exponent();
      INFO("bound " << bound << " terms " << terms << " exponent " << format.exponent());
      CHECK(log2_total < 125.0);
      CHECK(log2_total >= 123.0);
    }
  }
}

TEST_CASE("FixedPointFormat sums max_terms terms at the bound without overflow", "[exact_sum]") {
  const double bound = 123.456;
  const std::int64_t terms = 1'000'000;
  const FixedPointFormat format = FixedPointFormat::for_bound(bound, terms);
  const ExactSum one = format.to_fixed(bound);
  REQUIRE(one > 0);
  const ExactSum total = one * terms;  // what `terms` additions of the largest term give
  CHECK(total > 0);
  CHECK(total / terms == one);
  CHECK(format.to_double(total) == Approx(bound * terms).epsilon(1e-15));
  CHECK(format.to_double(-total) == Approx(-bound * terms).epsilon(1e-15));
}

TEST_CASE("FixedPointFormat with a zero or NaN bound uses exponent 0", "[exact_sum]") {
  CHECK(FixedPointFormat::for_bound(0.0, 100).exponent() == 0);
  CHECK(FixedPointFormat::for_bound(std::nan(""), 100).exponent() == 0);
  CHECK(FixedPointFormat::for_bound(0.0, 100).to_fixed(0.0) == 0);
}

TEST_CASE("FixedPointFormat with an infinite bound still holds terms of DBL_MAX", "[exact_sum]") {
  const FixedPointFormat format =
      FixedPointFormat::for_bound(std::numeric_limits<double>::infinity(), 4);
  const double largest = std::numeric_limits<double>::max();
  CHECK(std::log2(largest) + 2 + format.exponent() <= 125.0);
  const ExactSum total = format.to_fixed(largest) * 4;
  CHECK(total > 0);
  CHECK(std::isfinite(format.to_double(total / 4)));
}

TEST_CASE("FixedPointFormat for a tiny or subnormal bound clamps the exponent and stays safe",
          "[exact_sum]") {
  for (double tiny : {1e-300, std::numeric_limits<double>::denorm_min()}) {
    const FixedPointFormat format = FixedPointFormat::for_bound(tiny, 10);
    INFO("bound " << tiny << " exponent " << format.exponent());
    CHECK(format.exponent() == 1023);
    CHECK(std::log2(tiny) + std::log2(10.0) + format.exponent() < 125.0);
    CHECK(std::isfinite(format.to_double(ExactSum{1})));
    CHECK(format.to_double(ExactSum{1}) > 0.0);
  }
}

TEST_CASE("Exact sums are bit-identical under permutation and splitting of the terms",
          "[exact_sum]") {
  const std::vector<double> terms = mixed_magnitude_terms(20'000, 1e3, 7);
  const FixedPointFormat format = FixedPointFormat::for_bound(1e3, 20'000);
  const ExactSum reference = exact_total(terms, format);

  std::vector<double> shuffled = terms;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(11));
  CHECK(exact_total(shuffled, format) == reference);

  std::reverse(shuffled.begin(), shuffled.end());
  CHECK(exact_total(shuffled, format) == reference);

  for (std::size_t split :
       {std::size_t{0}, std::size_t{1}, std::size_t{777}, std::size_t{19'999}}) {
    const std::vector<double> head(terms.begin(), terms.begin() + split);
    const std::vector<double> tail(terms.begin() + split, terms.end());
    CHECK(exact_total(tail, format) + exact_total(head, format) == reference);
  }

  long double careful = 0;
  for (double term : terms) careful += term;
  CHECK(format.to_double(reference) == Approx(static_cast<double>(careful)).epsilon(1e-12));
}

TEST_CASE("FixedPointFormat::to_fixed truncates towards zero on the grid", "[exact_sum]") {
  const FixedPointFormat format = FixedPointFormat::for_bound(1.0, 1);  // 1 < 2^1, e = 124
  REQUIRE(format.exponent() == 124);
  const double step = std::ldexp(1.0, -format.exponent());
  CHECK(format.to_fixed(2.5 * step) == 2);
  CHECK(format.to_fixed(-2.5 * step) == -2);
  CHECK(format.to_fixed(0.5) == ExactSum{1} << 123);
}

TEST_CASE("FixedPointFormat64::for_bound picks a power-of-two scale with 2^60..2^62 headroom",
          "[exact_sum]") {
  for (double bound : {1e-12, 0.3, 1.0, 2.0, 5e4, 1e12}) {
    for (std::int64_t terms :
         {std::int64_t{1}, std::int64_t{5}, std::int64_t{1} << 20, std::int64_t{1'000'000'000}}) {
      const FixedPointFormat64 format = FixedPointFormat64::for_bound(bound, terms);
      int exponent = 0;
      INFO("bound " << bound << " terms " << terms << " scale " << format.scale());
      CHECK(std::frexp(format.scale(), &exponent) == 0.5);
      const double log2_total =
          std::log2(bound) + std::log2(static_cast<double>(terms)) + std::log2(format.scale());
      CHECK(log2_total < 62.0);
      CHECK(log2_total >= 60.0);
      // terms additions of the largest term fit in int64.
      const std::int64_t one = format.to_fixed(bound);
      CHECK(one <= std::numeric_limits<std::int64_t>::max() / terms);
    }
  }
}

TEST_CASE("FixedPointFormat64 with a zero, NaN or extreme bound keeps a finite non-zero scale",
          "[exact_sum]") {
  CHECK(FixedPointFormat64::for_bound(0.0, 10).scale() == 1.0);
  CHECK(FixedPointFormat64::for_bound(std::nan(""), 10).scale() == 1.0);
  const double tiny_scale =
      FixedPointFormat64::for_bound(std::numeric_limits<double>::max(), 1 << 30).scale();
  CHECK(tiny_scale > 0.0);
  const double huge_scale =
      FixedPointFormat64::for_bound(std::numeric_limits<double>::denorm_min(), 1).scale();
  CHECK(std::isfinite(huge_scale));
}

TEST_CASE("FixedPointFormat64 sums are order independent and within one grid step per term",
          "[exact_sum]") {
  const std::vector<double> terms = mixed_magnitude_terms(10'000, 50.0, 3);
  const FixedPointFormat64 format = FixedPointFormat64::for_bound(50.0, 10'000);
  std::int64_t forward = 0, backward = 0;
  long double careful = 0;
  for (double term : terms) {
    forward += format.to_fixed(term);
    careful += term;
  }
  for (auto it = terms.rbegin(); it != terms.rend(); ++it) backward += format.to_fixed(*it);
  CHECK(forward == backward);
  CHECK(std::fabs(format.to_double(forward) - static_cast<double>(careful)) <=
        10'000 / format.scale());
}

TEST_CASE("FixedPointFormat::to_fixed equals the truncated ldexp for any double on the grid",
          "[exact_sum]") {
  std::mt19937_64 engine(42);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-80, 80);
  for (double bound : {1e-30, 1e-3, 1.0, 7.5, 1e6, 1e30}) {
    const FixedPointFormat format = FixedPointFormat::for_bound(bound, 1'000'000);
    for (int trial = 0; trial < 20000; ++trial) {
      const double term = std::ldexp(mantissa(engine), exponent(engine)) * bound;
      if (std::fabs(term) > bound) continue;
      const ExactSum expected = static_cast<ExactSum>(std::ldexp(term, format.exponent()));
      REQUIRE((format.to_fixed(term) == expected));
    }
    CHECK((format.to_fixed(0.0) == 0));
    CHECK((format.to_fixed(-0.0) == 0));
    CHECK((format.to_fixed(bound) == static_cast<ExactSum>(std::ldexp(bound, format.exponent()))));
  }
}

TEST_CASE("FloatExactSum is exact and independent of order and splitting", "[exact_sum]") {
  std::mt19937 generator(11);
  std::uniform_real_distribution<float> exponent(-10.0f, 10.0f);
  std::vector<float> terms(100003);
  for (float& term : terms) term = std::exp2(exponent(generator)) * (generator() % 3 == 0 ? -1 : 1);

  FloatExactSum whole;
  whole.add(terms.data(), terms.size());
  // Reference: every term is a multiple of 2^-34 below 2^11 in magnitude, so the sum is exact in
  // 128-bit integers on that grid.
  ExactSum reference = 0;
  for (float term : terms) reference += static_cast<ExactSum>(std::ldexp(double{term}, 34));
  const double expected = std::ldexp(static_cast<double>(reference), -34);
  CHECK(whole.total() == Approx(expected).epsilon(1e-15));

  // Any order, any split into parts (ranks, threads), term by term or in bulk: the same bins.
  std::shuffle(terms.begin(), terms.end(), generator);
  FloatExactSum parts[3];
  parts[0].add(terms.data(), 40000);
  for (std::size_t i = 40000; i < 40007; ++i) parts[1].add(terms[i]);
  parts[2].add(terms.data() + 40007, terms.size() - 40007);
  FloatExactSum combined;
  for (const FloatExactSum& part : parts) {
    for (std::size_t b = 0; b < combined.bins.size(); ++b) combined.bins[b] += part.bins[b];
  }
  CHECK(combined.bins == whole.bins);
  CHECK(combined.total() == whole.total());
}

TEST_CASE("FloatExactSum cancels exactly and handles subnormals and NaN", "[exact_sum]") {
  FloatExactSum cancelling;
  for (float term : {1e30f, 3.5f, -1e30f, 1e-30f, -3.5f}) cancelling.add(term);
  CHECK(cancelling.total() == double{1e-30f});  // a double sum would have lost 1e-30 to 1e30

  FloatExactSum subnormal;
  const float smallest = std::numeric_limits<float>::denorm_min();
  for (int i = 0; i < 3; ++i) subnormal.add(smallest);
  subnormal.add(0.0f);
  CHECK(subnormal.total() == std::ldexp(3.0, -149));

  FloatExactSum invalid;
  invalid.add(1.0f);
  invalid.add(std::numeric_limits<float>::quiet_NaN());
  CHECK(std::isnan(invalid.total()));
}
