#include "microseg/distributed/communicator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>

namespace microseg::distributed {
namespace {

// 128-bit fixed-point sums travel as 16 opaque bytes with a user-defined, commutative sum:
// integer addition is exact, so MPI may combine them in any order.
void add_exact_sums(void* in, void* inout, int* count, MPI_Datatype*) {
  const auto* source = static_cast<const ExactSum*>(in);
  auto* target = static_cast<ExactSum*>(inout);
  for (int i = 0; i < *count; ++i) target[i] += source[i];
}

struct ExactSumMpiTypes {
  MPI_Datatype type;
  MPI_Op sum;
  ExactSumMpiTypes() {
    MPI_Type_contiguous(static_cast<int>(sizeof(ExactSum)), MPI_BYTE, &type);
    MPI_Type_commit(&type);
    MPI_Op_create(&add_exact_sums, 1, &sum);
  }
};

const ExactSumMpiTypes& exact_sum_types() {
  static const ExactSumMpiTypes types;
  return types;
}

// MPI counts are int: large messages are sent in pieces.
constexpr std::size_t max_message_bytes = std::size_t{1} << 30;

}  // namespace

RowRange block_of_rows(std::int64_t total, int rank, int size) {
  return {total * rank / size, total * (rank + 1) / size};
}

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void Communicator::barrier() const {
  MPI_Barrier(comm_);
}

void Communicator::sum_in_place(std::vector<ExactSum>& values) const {
  const auto& types = exact_sum_types();
  // Pieces keep each call's count within int range.
  const std::size_t piece = max_message_bytes / sizeof(ExactSum);
  for (std::size_t offset = 0; offset < values.size(); offset += piece) {
    int count = static_cast<int>(std::min(piece, values.size() - offset));
    MPI_Allreduce(MPI_IN_PLACE, values.data() + offset, count, types.type, types.sum, comm_);
  }
}

void Communicator::sum_in_place(std::vector<std::int64_t>& values) const {
  const std::size_t piece = max_message_bytes / sizeof(std::int64_t);
  for (std::size_t offset = 0; offset < values.size(); offset += piece) {
    int count = static_cast<int>(std::min(piece, values.size() - offset));
    MPI_Allreduce(MPI_IN_PLACE, values.data() + offset, count, MPI_INT64_T, MPI_SUM, comm_);
  }
}

std::int64_t Communicator::sum(std::int64_t value) const {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_SUM, comm_);
  return value;
}

ExactSum Communicator::sum(ExactSum value) const {
  std::vector<ExactSum> values{value};
  sum_in_place(values);
  return values[0];
}

ExactSum Communicator::exclusive_prefix_sum(ExactSum value) const {
  const auto& types = exact_sum_types();
  ExactSum below = 0;
  MPI_Exscan(&value, &below, 1, types.type, types.sum, comm_);
  return rank_ == 0 ? 0 : below;  // MPI leaves rank 0's result undefined
}

std::int64_t Communicator::exclusive_prefix_sum(std::int64_t value) const {
  std::int64_t below = 0;
  MPI_Exscan(&value, &below, 1, MPI_INT64_T, MPI_SUM, comm_);
  return rank_ == 0 ? 0 : below;
}

bool Communicator::any(bool flag) const {
  int value = flag ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, comm_);
  return value != 0;
}

void Communicator::min_in_place(std::vector<double>& values) const {
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MIN,
                comm_);
}

void Communicator::max_in_place(std::vector<double>& values) const {
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX,
                comm_);
}

double Communicator::max(double value) const {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_);
  return value;
}

std::int64_t Communicator::max(std::int64_t value) const {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_MAX, comm_);
  return value;
}

std::int64_t Communicator::min(std::int64_t value) const {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_MIN, comm_);
  return value;
}

std::vector<char> Communicator::all_gather_bytes(const char* data, std::size_t bytes) const {
  if (bytes > max_message_bytes) abort("all_gather of more than 1 GiB from one rank");
  int my_count = static_cast<int>(bytes);
  std::vector<int> counts(size_), displacements(size_);
  MPI_Allgather(&my_count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  std::int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    displacements[r] = static_cast<int>(total);
    total += counts[r];
  }
  if (total > static_cast<std::int64_t>(std::numeric_limits<int>::max())) {
    abort("all_gather of more than 2 GiB in total");
  }
  std::vector<char> result(static_cast<std::size_t>(total));
  MPI_Allgatherv(data, my_count, MPI_BYTE, result.data(), counts.data(), displacements.data(),
                 MPI_BYTE, comm_);
  return result;
}

std::vector<char> Communicator::all_to_all_bytes(
    const std::vector<std::vector<char>>& per_destination) const {
  if (static_cast<int>(per_destination.size()) != size_) {
    abort("all_to_all needs one block per rank");
  }
  std::vector<int> send_counts(size_), receive_counts(size_), send_offsets(size_),
      receive_offsets(size_);
  std::vector<char> send;
  for (int r = 0; r < size_; ++r) {
    if (per_destination[r].size() > max_message_bytes) abort("all_to_all block over 1 GiB");
    send_offsets[r] = static_cast<int>(send.size());
    send_counts[r] = static_cast<int>(per_destination[r].size());
    send.insert(send.end(), per_destination[r].begin(), per_destination[r].end());
  }
  if (send.size() > max_message_bytes) abort("all_to_all of more than 1 GiB from one rank");
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, receive_counts.data(), 1, MPI_INT, comm_);
  std::int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    receive_offsets[r] = static_cast<int>(total);
    total += receive_counts[r];
  }
  if (total > static_cast<std::int64_t>(max_message_bytes)) {
    abort("all_to_all receiving more than 1 GiB on one rank");
  }
  std::vector<char> received(static_cast<std::size_t>(total));
  MPI_Alltoallv(send.data(), send_counts.data(), send_offsets.data(), MPI_BYTE, received.data(),
                receive_counts.data(), receive_offsets.data(), MPI_BYTE, comm_);
  return received;
}

void Communicator::broadcast_bytes(char* data, std::size_t bytes, int root) const {
  for (std::size_t offset = 0; offset < bytes; offset += max_message_bytes) {
    int count = static_cast<int>(std::min(max_message_bytes, bytes - offset));
    MPI_Bcast(data + offset, count, MPI_BYTE, root, comm_);
  }
}

void Communicator::broadcast(std::string& text, int root) const {
  std::vector<char> bytes(text.begin(), text.end());
  broadcast(bytes, root);
  text.assign(bytes.begin(), bytes.end());
}

std::vector<char> Communicator::ring_shift(const std::vector<char>& block) const {
  const int next = (rank_ + 1) % size_;
  const int previous = (rank_ + size_ - 1) % size_;
  std::int64_t send_bytes = static_cast<std::int64_t>(block.size()), receive_bytes = 0;
  MPI_Sendrecv(&send_bytes, 1, MPI_INT64_T, next, 0, &receive_bytes, 1, MPI_INT64_T, previous, 0,
               comm_, MPI_STATUS_IGNORE);
  if (send_bytes > static_cast<std::int64_t>(max_message_bytes) ||
      receive_bytes > static_cast<std::int64_t>(max_message_bytes)) {
    abort("ring_shift of a block over 1 GiB");
  }
  std::vector<char> received(static_cast<std::size_t>(receive_bytes));
  MPI_Sendrecv(block.data(), static_cast<int>(send_bytes), MPI_BYTE, next, 1, received.data(),
               static_cast<int>(receive_bytes), MPI_BYTE, previous, 1, comm_, MPI_STATUS_IGNORE);
  return received;
}

std::string Communicator::library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<std::size_t>(length));
  // Open MPI appends build details after a comma; the first part names the version.
  return version.substr(0, version.find(','));
}

void Communicator::agree(const std::optional<std::string>& local_error) const {
  // The lowest failing rank speaks for all, so every rank throws the same message.
  int my_flag = local_error ? rank_ : size_;
  int first_failing = size_;
  MPI_Allreduce(&my_flag, &first_failing, 1, MPI_INT, MPI_MIN, comm_);
  if (first_failing == size_) return;
  std::string message = local_error ? *local_error : std::string();
  broadcast(message, first_failing);
  throw AgreedError(message);
}

void Communicator::run_agreed(const std::function<void()>& work) const {
  std::optional<std::string> error;
  try {
    work();
  } catch (const AgreedError&) {
    throw;  // already agreed by a nested check: every rank holds it
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown error on rank " + std::to_string(rank_);
  }
  agree(error);
}

void Communicator::abort(const std::string& message) const {
  std::fprintf(stderr, "microseg: error on rank %d of %d: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
  MPI_Abort(comm_, 3);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace microseg::distributed
