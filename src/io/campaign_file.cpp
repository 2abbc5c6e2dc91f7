#include "microseg/io/campaign_file.hpp"

#include <optional>
#include <utility>

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

namespace microseg::io {
namespace {

// The dataset /customers/NAME of `file`, 1-D with `rows` rows (rows < 0: any length).
Dataset outcome_dataset(const File& file, const std::string& path, const std::string& name,
                        std::int64_t rows) {
  const std::string object = "/customers/" + name;
  std::optional<Dataset> dataset = file.has_path(object) ? file.open_dataset(object) : std::nullopt;
  if (!dataset) throw InputError("outcome table '" + path + "' has no dataset " + object);
  const std::optional<Shape> shape = dataset->shape();
  if (!shape || shape->dims.size() != 1 ||
      (rows >= 0 && shape->dims[0] != static_cast<hsize_t>(rows))) {
    throw InputError("outcome table '" + path + "': " + object +
                     " is not a 1-D dataset with one value per /customers/id");
  }
  return std::move(*dataset);
}

}  // namespace

OutcomeBlock read_outcome_block(const std::string& path, const OutcomeDatasets& names,
                                MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  OutcomeBlock block;
  std::optional<std::string> error;
  {
    const std::optional<File> file = File::open(path, FileAccess::mpi_io(comm));
    if (!file) {
      throw InputError("outcome table '" + path + "' cannot be opened" + with_hdf5_detail());
    }
    const Dataset ids = outcome_dataset(*file, path, "id", -1);
    block.total_rows = static_cast<std::int64_t>(ids.shape()->dims[0]);
    block.rows =
        distributed::block_of_rows(block.total_rows, communicator.rank(), communicator.size());
    const auto count = static_cast<std::size_t>(block.rows.size());
    const std::string categories = "/categories/" + names.group;
    const std::optional<Dataset> names_dataset =
        file->has_path(categories) ? file->open_dataset(categories) : std::nullopt;
    const auto group_names = names_dataset ? names_dataset->read_strings() : std::nullopt;
    if (!group_names) {
      throw InputError("outcome table '" + path + "' has no " + categories +
                       " (write it with ingest features --categorical " + names.group + ")");
    }
    block.group_names = *group_names;
    RowReader reader(block.rows, false);
    const auto read = [&](const std::string& name, auto& values) {
      values.resize(count);
      const Dataset dataset = outcome_dataset(*file, path, name, block.total_rows);
      if (reader.read_column(dataset, values.data(), {1, 0}) == RowRead::failed && !error) {
        error = "outcome table '" + path + "': cannot read /customers/" + name + with_hdf5_detail();
      }
    };
    read("id", block.ids);
    read(names.group, block.group_codes);
    read(names.converted, block.converted);
    if (!names.revenue.empty()) read(names.revenue, block.revenue);
  }
  communicator.agree(error);
  return block;
}

}  // namespace microseg::io
