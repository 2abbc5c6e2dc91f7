#pragma once
/// \file The first few of many items in a strict total order, without a key per item.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace microseg {

/// The first `keep` of `count` items in the strict total order `before`, item i being
/// item_of(i), in order; a bounded heap holds O(keep) items, never one per row.
template <class Item, class ItemOf, class Before>
std::vector<Item> first_items(std::size_t count, std::size_t keep, ItemOf item_of, Before before) {
  std::vector<Item> heap;
  heap.reserve(std::min(keep, count));
  for (std::size_t i = 0; i < count && keep > 0; ++i) {
    const Item item = item_of(i);
    if (heap.size() < keep) {
      heap.push_back(item);
      std::push_heap(heap.begin(), heap.end(), before);
    } else if (before(item, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = item;
      std::push_heap(heap.begin(), heap.end(), before);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), before);
  return heap;
}

}  // namespace microseg
