#pragma once
// Private to src/io: how a reader or writer fails while a file is open with MPI-IO.
#include <exception>
#include <optional>
#include <string>

#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io::detail {

// Runs `work`, the part of a reader or writer that uses a file opened collectively before it;
// declare the file handle outside `work`. Closing such a file is collective (MPI_File_close
// synchronises the ranks), so an exception must not unwind past the handle on one rank alone:
// that rank would wait in the close while the others wait for it in their next collective read
// or write, and the job would hang. So, while the file is still open:
// - an InputError (a check every rank should make alike) is agreed on: when every rank reaches
//   the agreement, each throws the same AgreedError and all close the file together; when the
//   others are busy elsewhere, agree() ends the job after its grace period;
// - any other exception (an allocation, a bug, an injected failure) strikes this rank alone:
//   the job ends at once, naming the rank and the cause.
template <class Work>
void run_while_file_open(const distributed::Communicator& comm, Work&& work) {
  std::optional<std::string> error;
  try {
    work();
  } catch (const distributed::AgreedError&) {
    throw;  // every rank holds it already
  } catch (const InputError& e) {
    error = e.what();
  } catch (const std::exception& e) {
    comm.abort(e.what());
  } catch (...) {
    comm.abort("unknown exception while an input or output file was open");
  }
  comm.agree(error);
}

}  // namespace microseg::io::detail
