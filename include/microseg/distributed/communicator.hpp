#pragma once
/// \file The one place microseg talks MPI: a small communicator wrapper with the reductions
/// every stage uses and the agreement on errors between ranks.
///
/// All sums across ranks pass through here. Floating-point sums travel as ExactSum (128-bit
/// fixed point) or int64, so every reduction is exact and the result does not depend on the
/// rank count or the reduction order.
#include <mpi.h>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg::distributed {

/// An error every rank has agreed on (see Communicator::agree): each rank holds the same message,
/// so each can end cleanly without MPI_Abort.
class AgreedError : public InputError {
 public:
  using InputError::InputError;
};

/// The rows of `total` a rank holds: contiguous, in rank order, sizes differing by at most one.
RowRange block_of_rows(std::int64_t total, int rank, int size);

class Communicator {
 public:
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD);
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  MPI_Comm native() const { return comm_; }

  void barrier() const;

  /// Element-wise exact sums, in place, on every rank.
  void sum_in_place(std::vector<ExactSum>& values) const;
  void sum_in_place(std::vector<std::int64_t>& values) const;
  /// Element-wise sums of several vectors in one allreduce (one latency, not one per vector).
  void sum_in_place(std::initializer_list<std::vector<std::int64_t>*> parts) const;
  std::int64_t sum(std::int64_t value) const;
  ExactSum sum(ExactSum value) const;
  /// Σ of `value` over the ranks below this one (0 on rank 0).
  ExactSum exclusive_prefix_sum(ExactSum value) const;
  std::int64_t exclusive_prefix_sum(std::int64_t value) const;

  /// True on every rank if `flag` is true on any rank.
  bool any(bool flag) const;
  /// True on every rank if `flag` is true on every rank.
  bool all(bool flag) const { return !any(!flag); }

  void min_in_place(std::vector<double>& values) const;
  void max_in_place(std::vector<double>& values) const;
  double max(double value) const;
  std::int64_t max(std::int64_t value) const;
  std::int64_t min(std::int64_t value) const;

  /// Concatenation of every rank's vector in rank order, on every rank.
  template <class T>
  std::vector<T> all_gather(const std::vector<T>& local) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<char> bytes =
        all_gather_bytes(reinterpret_cast<const char*>(local.data()), local.size() * sizeof(T));
    std::vector<T> result(bytes.size() / sizeof(T));
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(result.data()));
    return result;
  }

  /// Personalised exchange: per_destination[r] goes to rank r; returns what every rank sent
  /// here, concatenated in rank order. Besides the caller's blocks it holds one packed copy to
  /// send and the result: large exchanges are split into rounds by the caller.
  template <class T>
  std::vector<T> all_to_all(const std::vector<std::vector<T>>& per_destination) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<std::size_t> send_bytes(per_destination.size());
    std::size_t total = 0;
    for (const auto& block : per_destination) total += block.size();
    std::vector<T> send;
    send.reserve(total);
    for (std::size_t r = 0; r < per_destination.size(); ++r) {
      send_bytes[r] = per_destination[r].size() * sizeof(T);
      send.insert(send.end(), per_destination[r].begin(), per_destination[r].end());
    }
    const std::vector<std::size_t> receive_bytes = exchange_sizes(send_bytes);
    std::size_t received = 0;
    for (std::size_t bytes : receive_bytes) received += bytes;
    std::vector<T> result(received / sizeof(T));
    all_to_all_bytes(reinterpret_cast<const char*>(send.data()), send_bytes,
                     reinterpret_cast<char*>(result.data()), receive_bytes);
    return result;
  }

  /// Sends a vector from `root` to all ranks (resized on receivers).
  template <class T>
  void broadcast(std::vector<T>& values, int root = 0) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::int64_t count = static_cast<std::int64_t>(values.size());
    broadcast_bytes(reinterpret_cast<char*>(&count), sizeof(count), root);
    values.resize(static_cast<std::size_t>(count));
    broadcast_bytes(reinterpret_cast<char*>(values.data()), values.size() * sizeof(T), root);
  }
  void broadcast(std::string& text, int root = 0) const;

  /// Sends any Boost.Serialization-serialisable object from `root` to every rank.
  template <class T>
  void broadcast_object(T& object, int root = 0) const {
    std::string bytes;
    if (rank_ == root) {
      std::ostringstream out;
      boost::archive::binary_oarchive archive(out);
      archive << object;
      bytes = out.str();
    }
    broadcast(bytes, root);
    if (rank_ != root) {
      std::istringstream in(bytes);
      boost::archive::binary_iarchive archive(in);
      archive >> object;
    }
  }

  /// The MPI library's own version string.
  static std::string library_version();
  /// The MPI headers microseg was compiled with: the implementation's version when it says
  /// (Open MPI, MPICH) and the MPI standard, e.g. "Open MPI 4.1.4 (MPI 3.1)".
  static std::string header_version();

  /// Collective: rotates `block` one step around the ring of ranks (receives from rank − 1,
  /// sends to rank + 1) and returns what arrived. Blocks may differ in size.
  std::vector<char> ring_shift(const std::vector<char>& block) const;

  /// Collective agreement on an error: if any rank passes a message, every rank throws
  /// AgreedError with the message of the lowest such rank. Use for checks every rank reaches.
  /// A rank passing a message waits at most a few seconds for the others; if they do not come
  /// (they wait for it in another collective), it ends the job as abort() does, naming itself
  /// and its message.
  void agree(const std::optional<std::string>& local_error) const;

  /// Runs `work` on every rank and agrees on its outcome: an exception on any rank becomes the
  /// same AgreedError on every rank. Collectives inside `work` should be ones where a failure
  /// strikes every rank alike (e.g. HDF5 metadata checks): a rank that throws early skips the
  /// collectives that follow, and the others wait there until agree()'s grace period ends the
  /// job.
  void run_agreed(const std::function<void()>& work) const;

  /// For an error one rank finds alone, where the others may already wait in a collective: prints
  /// the message naming the rank and ends the whole job.
  [[noreturn]] void abort(const std::string& message) const;

 private:
  std::vector<char> all_gather_bytes(const char* data, std::size_t bytes) const;
  // What each rank sends here, from what this rank sends to each.
  std::vector<std::size_t> exchange_sizes(const std::vector<std::size_t>& send_bytes) const;
  void all_to_all_bytes(const char* send, const std::vector<std::size_t>& send_bytes, char* receive,
                        const std::vector<std::size_t>& receive_bytes) const;
  void broadcast_bytes(char* data, std::size_t bytes, int root) const;
  // agree()'s wait: unbounded on healthy ranks; bounded on a rank holding `local_error`.
  void wait_for_agreement(std::vector<MPI_Request>& requests,
                          const std::optional<std::string>& local_error) const;

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace microseg::distributed
