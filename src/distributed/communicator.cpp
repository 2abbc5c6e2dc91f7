#include "microseg/distributed/communicator.hpp"

#include "microseg/distributed/stall_watchdog.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <thread>

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

// Tags of Communicator::agree's point-to-point messages (ring_shift uses 0 and 1).
constexpr int agree_flag_tag = 7101;
constexpr int agree_result_tag = 7102;

// How long a rank holding an error waits for the others to agree on it before it ends the job
// itself. Ranks reach a check at about the same time, so waiting longer only delays the end of
// a job in which the others wait for the failed rank in another collective.
constexpr std::chrono::seconds local_error_grace{10};

// MPI counts are int: large messages are sent in pieces.
constexpr std::size_t max_message_bytes = std::size_t{1} << 30;

// `rank` of `comm` as a rank of MPI_COMM_WORLD (what the stall watchdog names), -1 if none.
int world_rank_of(MPI_Comm comm, int rank) {
  if (comm == MPI_COMM_WORLD) return rank;
  MPI_Group group, world;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  int translated = MPI_UNDEFINED;
  MPI_Group_translate_ranks(group, 1, &rank, world, &translated);
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  return translated == MPI_UNDEFINED ? -1 : translated;
}

}  // namespace

RowRange block_of_rows(std::int64_t total, int rank, int size) {
  return {total * rank / size, total * (rank + 1) / size};
}

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void Communicator::barrier() const {
  const BlockingSection section("MPI_Barrier");
  MPI_Barrier(comm_);
}

void Communicator::sum_in_place(std::vector<ExactSum>& values) const {
  const auto& types = exact_sum_types();
  // Pieces keep each call's count within int range.
  const std::size_t piece = max_message_bytes / sizeof(ExactSum);
  for (std::size_t offset = 0; offset < values.size(); offset += piece) {
    int count = static_cast<int>(std::min(piece, values.size() - offset));
    const BlockingSection section("MPI_Allreduce");
    MPI_Allreduce(MPI_IN_PLACE, values.data() + offset, count, types.type, types.sum, comm_);
  }
}

void Communicator::sum_in_place(std::vector<std::int64_t>& values) const {
  const std::size_t piece = max_message_bytes / sizeof(std::int64_t);
  for (std::size_t offset = 0; offset < values.size(); offset += piece) {
    int count = static_cast<int>(std::min(piece, values.size() - offset));
    const BlockingSection section("MPI_Allreduce");
    MPI_Allreduce(MPI_IN_PLACE, values.data() + offset, count, MPI_INT64_T, MPI_SUM, comm_);
  }
}

void Communicator::sum_in_place(std::initializer_list<std::vector<std::int64_t>*> parts) const {
  std::vector<std::int64_t> packed;
  for (const std::vector<std::int64_t>* part : parts) {
    packed.insert(packed.end(), part->begin(), part->end());
  }
  sum_in_place(packed);
  auto next = packed.begin();
  for (std::vector<std::int64_t>* part : parts) {
    std::copy(next, next + static_cast<std::ptrdiff_t>(part->size()), part->begin());
    next += static_cast<std::ptrdiff_t>(part->size());
  }
}

std::int64_t Communicator::sum(std::int64_t value) const {
  const BlockingSection section("MPI_Allreduce");
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
  const BlockingSection section("MPI_Exscan");
  MPI_Exscan(&value, &below, 1, types.type, types.sum, comm_);
  return rank_ == 0 ? 0 : below;  // MPI leaves rank 0's result undefined
}

std::int64_t Communicator::exclusive_prefix_sum(std::int64_t value) const {
  std::int64_t below = 0;
  const BlockingSection section("MPI_Exscan");
  MPI_Exscan(&value, &below, 1, MPI_INT64_T, MPI_SUM, comm_);
  return rank_ == 0 ? 0 : below;
}

bool Communicator::any(bool flag) const {
  int value = flag ? 1 : 0;
  const BlockingSection section("MPI_Allreduce");
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, comm_);
  return value != 0;
}

void Communicator::min_in_place(std::vector<double>& values) const {
  const BlockingSection section("MPI_Allreduce");
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MIN,
                comm_);
}

void Communicator::max_in_place(std::vector<double>& values) const {
  const BlockingSection section("MPI_Allreduce");
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX,
                comm_);
}

double Communicator::max(double value) const {
  const BlockingSection section("MPI_Allreduce");
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_);
  return value;
}

std::int64_t Communicator::max(std::int64_t value) const {
  const BlockingSection section("MPI_Allreduce");
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_MAX, comm_);
  return value;
}

std::int64_t Communicator::min(std::int64_t value) const {
  const BlockingSection section("MPI_Allreduce");
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_MIN, comm_);
  return value;
}

std::vector<char> Communicator::all_gather_bytes(const char* data, std::size_t bytes) const {
  if (bytes > max_message_bytes) abort("all_gather of more than 1 GiB from one rank");
  int my_count = static_cast<int>(bytes);
  std::vector<int> counts(size_), displacements(size_);
  {
    const BlockingSection section("MPI_Allgather");
    MPI_Allgather(&my_count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  }
  std::int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    displacements[r] = static_cast<int>(total);
    total += counts[r];
  }
  if (total > static_cast<std::int64_t>(std::numeric_limits<int>::max())) {
    abort("all_gather of more than 2 GiB in total");
  }
  std::vector<char> result(static_cast<std::size_t>(total));
  const BlockingSection section("MPI_Allgatherv");
  MPI_Allgatherv(data, my_count, MPI_BYTE, result.data(), counts.data(), displacements.data(),
                 MPI_BYTE, comm_);
  return result;
}

std::vector<std::size_t> Communicator::exchange_sizes(
    const std::vector<std::size_t>& send_bytes) const {
  if (static_cast<int>(send_bytes.size()) != size_) abort("all_to_all needs one block per rank");
  std::size_t total = 0;
  for (std::size_t bytes : send_bytes) {
    if (bytes > max_message_bytes) abort("all_to_all block over 1 GiB");
    total += bytes;
  }
  if (total > max_message_bytes) abort("all_to_all of more than 1 GiB from one rank");
  std::vector<std::uint64_t> sending(send_bytes.begin(), send_bytes.end()), receiving(size_);
  const BlockingSection section("MPI_Alltoall");
  MPI_Alltoall(sending.data(), 1, MPI_UINT64_T, receiving.data(), 1, MPI_UINT64_T, comm_);
  std::size_t received = 0;
  for (std::uint64_t bytes : receiving) received += bytes;
  if (received > max_message_bytes) abort("all_to_all receiving more than 1 GiB on one rank");
  return {receiving.begin(), receiving.end()};
}

void Communicator::all_to_all_bytes(const char* send, const std::vector<std::size_t>& send_bytes,
                                    char* receive,
                                    const std::vector<std::size_t>& receive_bytes) const {
  // Both totals are under 1 GiB (exchange_sizes), so every count and offset fits an int.
  std::vector<int> send_counts(size_), receive_counts(size_), send_offsets(size_),
      receive_offsets(size_);
  int sent = 0, received = 0;
  for (int r = 0; r < size_; ++r) {
    send_offsets[r] = sent;
    send_counts[r] = static_cast<int>(send_bytes[r]);
    sent += send_counts[r];
    receive_offsets[r] = received;
    receive_counts[r] = static_cast<int>(receive_bytes[r]);
    received += receive_counts[r];
  }
  const BlockingSection section("MPI_Alltoallv");
  MPI_Alltoallv(send, send_counts.data(), send_offsets.data(), MPI_BYTE, receive,
                receive_counts.data(), receive_offsets.data(), MPI_BYTE, comm_);
}

void Communicator::broadcast_bytes(char* data, std::size_t bytes, int root) const {
  for (std::size_t offset = 0; offset < bytes; offset += max_message_bytes) {
    int count = static_cast<int>(std::min(max_message_bytes, bytes - offset));
    const BlockingSection section("MPI_Bcast");
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
  {
    const BlockingSection section("MPI_Sendrecv");
    MPI_Sendrecv(&send_bytes, 1, MPI_INT64_T, next, 0, &receive_bytes, 1, MPI_INT64_T, previous, 0,
                 comm_, MPI_STATUS_IGNORE);
  }
  if (send_bytes > static_cast<std::int64_t>(max_message_bytes) ||
      receive_bytes > static_cast<std::int64_t>(max_message_bytes)) {
    abort("ring_shift of a block over 1 GiB");
  }
  std::vector<char> received(static_cast<std::size_t>(receive_bytes));
  const BlockingSection section("MPI_Sendrecv");
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

std::string Communicator::header_version() {
  const std::string standard =
      "MPI " + std::to_string(MPI_VERSION) + "." + std::to_string(MPI_SUBVERSION);
#if defined(OMPI_MAJOR_VERSION)
  return "Open MPI " + std::to_string(OMPI_MAJOR_VERSION) + "." +
         std::to_string(OMPI_MINOR_VERSION) + "." + std::to_string(OMPI_RELEASE_VERSION) + " (" +
         standard + ")";
#elif defined(MPICH_VERSION)
  return std::string("MPICH ") + MPICH_VERSION + " (" + standard + ")";
#else
  return standard;
#endif
}

void Communicator::agree(const std::optional<std::string>& local_error) const {
  // The lowest failing rank speaks for all, so every rank throws the same message. The flags
  // travel point to point, not by MPI_Allreduce: a rank that failed alone may arrive here while
  // the others wait for it in some other collective, which an allreduce would be matched with.
  // Point-to-point messages with tags of their own never match a collective, and they let the
  // failing rank stop waiting and end the job instead of hanging with the others.
  const int my_flag = local_error ? rank_ : size_;
  int first_failing = my_flag;
  std::vector<int> flags(static_cast<std::size_t>(size_), size_);
  std::vector<MPI_Request> requests;
  if (rank_ == 0) {
    requests.resize(static_cast<std::size_t>(size_ - 1));
    for (int r = 1; r < size_; ++r) {
      MPI_Irecv(&flags[r], 1, MPI_INT, r, agree_flag_tag, comm_, &requests[r - 1]);
    }
    wait_for_agreement(requests, local_error);
    for (int r = 1; r < size_; ++r) first_failing = std::min(first_failing, flags[r]);
    for (int r = 1; r < size_; ++r) {
      MPI_Isend(&first_failing, 1, MPI_INT, r, agree_result_tag, comm_, &requests[r - 1]);
    }
    wait_for_agreement(requests, local_error);
  } else {
    requests.resize(2);
    MPI_Isend(&my_flag, 1, MPI_INT, 0, agree_flag_tag, comm_, &requests[0]);
    MPI_Irecv(&first_failing, 1, MPI_INT, 0, agree_result_tag, comm_, &requests[1]);
    wait_for_agreement(requests, local_error);
  }
  if (first_failing == size_) return;
  // Every rank has the result, so every rank is here: a collective is safe again.
  std::string message = local_error ? *local_error : std::string();
  broadcast(message, first_failing);
  throw AgreedError(message);
}

void Communicator::wait_for_agreement(std::vector<MPI_Request>& requests,
                                      const std::optional<std::string>& local_error) const {
  if (!local_error) {
    // Healthy ranks wait as long as it takes, up to the stall timeout: a slow rank is not a
    // failed one, one that stopped answering is. Rank 0 hears from every rank, so it tells the
    // watchdog the lowest rank it still waits for (each message that arrives is progress).
    const BlockingSection section("agreement on errors");
    for (;;) {
      const auto pending = std::find_if(requests.begin(), requests.end(),
                                        [](MPI_Request r) { return r != MPI_REQUEST_NULL; });
      if (pending == requests.end()) break;
      if (rank_ == 0) {
        mark_awaited_rank(world_rank_of(comm_, static_cast<int>(pending - requests.begin()) + 1));
      }
      const BlockingSection wait("agreement on errors, MPI_Waitany");
      int index = MPI_UNDEFINED;
      MPI_Waitany(static_cast<int>(requests.size()), requests.data(), &index, MPI_STATUS_IGNORE);
      if (index == MPI_UNDEFINED) break;
    }
    mark_awaited_rank(-1);
    return;
  }
  const BlockingSection section("agreement on errors, MPI_Testall");
  const auto deadline = std::chrono::steady_clock::now() + local_error_grace;
  for (;;) {
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (done != 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      abort(*local_error + " (the other ranks did not come to agree on this error within " +
            std::to_string(local_error_grace.count()) +
            " s: they wait for this rank elsewhere, so the job is ended)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
  const BlockingSection section("MPI_Abort");  // it may wait for a peer that stopped answering
  MPI_Abort(comm_, 3);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace microseg::distributed
