// The input read path of `microseg segment`, alone, for the HDF5 input fuzz run (hdf5_fuzz.py):
// inspects a customer table, selects every feature, reads each rank's block of ids and features
// and the external ids, with the io functions the pipeline calls, and writes what it read so the
// driver can compare it with an independent reading of the file. The read path is all a damaged
// file reaches; the rest of a run works on the values read.
//
//   mpiexec -n P hdf5_read_probe INPUT.h5 PREFIX
//
// Writes PREFIX.<rank> (only when every rank read its block): a text line "rows columns
// has_external_ids", the feature names one per line in hex, then the rank's ids (int64) and
// features (float32, row-major), native byte order. Ends as microseg does: exit 0; an agreed error
// printed once by rank 0 as "microseg: error: ...", exit 2; a failure one rank found alone ends
// the job through Communicator::abort.
#include <mpi.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/io/customer_table.hpp"

namespace {

using microseg::distributed::Communicator;

void write_block(const std::string& path, const microseg::CustomerBlock& block,
                 bool has_external_ids) {
  std::ofstream out(path, std::ios::binary);
  out << block.rows.size() << ' ' << block.feature_names.size() << ' ' << has_external_ids << '\n';
  // Names in hex: a damaged file's names may hold any byte, a newline too.
  for (const std::string& name : block.feature_names) {
    for (unsigned char c : name) out << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
    out << '\n';
  }
  out.write(reinterpret_cast<const char*>(block.ids.data()),
            static_cast<std::streamsize>(block.ids.size() * sizeof(std::int64_t)));
  out.write(reinterpret_cast<const char*>(block.features.data()),
            static_cast<std::streamsize>(block.features.size() * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void read_and_write(const Communicator& comm, const std::string& input, const std::string& prefix) {
  microseg::io::CustomerTableSchema schema;
  comm.run_agreed([&] { schema = microseg::io::inspect_customer_table(input, comm.native()); });
  const std::vector<int> columns = microseg::io::select_features(schema, {});
  const microseg::RowRange rows =
      microseg::distributed::block_of_rows(schema.rows, comm.rank(), comm.size());
  microseg::CustomerBlock block;
  comm.run_agreed(
      [&] { block = microseg::io::read_customer_block(schema, columns, rows, comm.native()); });
  std::optional<microseg::ExternalIds> external_ids;
  comm.run_agreed(
      [&] { external_ids = microseg::io::read_external_ids(schema, rows, comm.native()); });
  write_block(prefix + "." + std::to_string(comm.rank()), block, external_ids.has_value());
}

}  // namespace

int main(int argc, char** argv) {
  // As microseg's main: FUNNELED (the watchdog's thread makes no MPI call) and the watchdog.
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int status = 0;
  {
    const microseg::distributed::StallWatchdog watchdog{Communicator(MPI_COMM_WORLD)};
    const Communicator comm(MPI_COMM_WORLD);
    try {
      if (argc != 3)
        throw microseg::distributed::AgreedError("usage: hdf5_read_probe INPUT PREFIX");
      read_and_write(comm, argv[1], argv[2]);
    } catch (const microseg::distributed::AgreedError& e) {
      if (comm.is_root()) std::cerr << std::string("microseg: error: ") + e.what() + "\n";
      status = 2;
    } catch (const std::exception& e) {
      comm.abort(e.what());
    }
  }
  MPI_Finalize();
  return status;
}
