#include "microseg/io/campaign_file.hpp"

#include <optional>

#include "hdf5_rows.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {

using namespace detail;

PlantedBlock read_planted_block(const std::string& path, RowRange rows, std::int64_t total_rows,
                                MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const auto count = static_cast<std::size_t>(rows.size());
  PlantedBlock block{std::vector<std::int64_t>(count), std::vector<std::int32_t>(count)};
  std::optional<std::string> error;
  {
    const std::optional<File> file = File::open(path, FileAccess::mpi_io(comm));
    if (!file) throw InputError("input file '" + path + "' cannot be opened" + with_hdf5_detail());
    RowReader reader(rows, false);
    const auto read_rows = [&](const std::string& name, auto* buffer) {
      const std::optional<Dataset> dataset =
          file->has_path(name) ? file->open_dataset(name) : std::nullopt;
      if (!dataset) {
        throw InputError("input file '" + path + "' has no dataset " + name +
                         " (a table written by microseg generate has one)");
      }
      const std::optional<Shape> shape = dataset->shape();
      if (!shape || shape->dims != std::vector<hsize_t>{static_cast<hsize_t>(total_rows)}) {
        throw InputError("input file '" + path + "': " + name + " does not hold " +
                         std::to_string(total_rows) + " rows, as the run's /assignments do");
      }
      if (reader.read_column(*dataset, buffer, {1, 0}) == RowRead::failed && !error) {
        error = "input file '" + path + "': cannot read " + name + with_hdf5_detail();
      }
    };
    read_rows("/customers/id", block.ids.data());
    read_rows("/customers/planted_segment", block.planted.data());
  }
  communicator.agree(error);
  return block;
}

void write_campaign_csv(const std::string& path, MPI_Comm comm, const CampaignRows& rows) {
  const distributed::Communicator communicator(comm);
  communicator.agree(output_location_problem(path));
  PendingOutputs pending(communicator);
  const PendingFile file{path, pending.add(path)};
  std::string text = communicator.is_root() ? "customer_id,group,converted,revenue\n" : "";
  for (std::size_t i = 0; i < rows.ids.size(); ++i) {
    text += std::to_string(rows.ids[i]) + (rows.treated[i] ? ",treated," : ",control,") +
            (rows.converted[i] ? "1," : "0,") + round_trip_text(rows.revenue[i]) + '\n';
  }
  std::optional<std::string> error;
  write_text_in_rank_order(file, pending, text, error);
  pending.commit(error);
}

}  // namespace microseg::io
