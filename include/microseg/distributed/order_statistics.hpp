#pragma once
/// \file Exact order statistics of values spread over ranks, by bisection over order-preserving
/// integer keys: no rank gathers the values, and every rank takes the same steps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/sort/spreadsort/integer_sort.hpp>

#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// Sorts one rank's keys for smallest_keys_reaching. Boost's spreadsort (a hybrid radix sort)
/// sorts integer keys by their bytes rather than by comparisons: the profiles' percentiles sort
/// n x d keys per rank, and the metrics phase takes 0.72-0.85 times as long as with std::sort
/// (docs/benchmarks.md, "The cost of the shared profiles' percentiles").
template <class Key>
void sort_keys(std::vector<Key>& keys) {
  boost::sort::spreadsort::integer_sort(keys.begin(), keys.end());
}

/// For every search i: the smallest key v in [low[i], high[i]] whose global count of keys ≤ v in
/// list sorted_keys[i / searches_per_list] (each rank's list sorted) reaches target[i]; a search
/// with low[i] = high[i] is already done. All searches step together, one allreduce of counts
/// per step, so the cost is the key width in steps, whatever the number of searches.
template <class Key>
std::vector<Key> smallest_keys_reaching(const Communicator& comm,
                                        const std::vector<std::vector<Key>>& sorted_keys,
                                        std::size_t searches_per_list, std::vector<Key> low,
                                        std::vector<Key> high,
                                        const std::vector<std::int64_t>& target) {
  const std::size_t searches = target.size();
  std::vector<std::int64_t> below(searches);
  while (true) {
    bool open = false;
    for (std::size_t i = 0; i < searches; ++i) open = open || low[i] < high[i];
    if (!open) break;
    for (std::size_t i = 0; i < searches; ++i) {
      const Key middle = low[i] + (high[i] - low[i]) / 2;
      const auto& sorted = sorted_keys[i / searches_per_list];
      below[i] = static_cast<std::int64_t>(std::upper_bound(sorted.begin(), sorted.end(), middle) -
                                           sorted.begin());
    }
    comm.sum_in_place(below);
    for (std::size_t i = 0; i < searches; ++i) {
      if (low[i] >= high[i]) continue;
      const Key middle = low[i] + (high[i] - low[i]) / 2;
      if (below[i] >= target[i]) {
        high[i] = middle;
      } else {
        low[i] = middle + 1;
      }
    }
  }
  return low;
}

}  // namespace microseg::distributed
