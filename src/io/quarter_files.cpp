// The quarter files of `microseg generate --quarters`: one customer table per quarter with the
// planted movement, all renamed into place together.
#include "microseg/io/quarter_files.hpp"

#include <filesystem>
#include <optional>

#include "customer_group.hpp"
#include "hdf5_collective.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {
using namespace detail;

// What is wrong with a rank's table, if anything (the pipeline's own data: a bug, not input).
std::optional<std::string> table_problem(const std::string& path, const QuarterTable& table,
                                         std::size_t feature_count) {
  const auto rows = static_cast<std::size_t>(table.rows.size());
  if (table.ids.size() != rows || static_cast<std::size_t>(table.features.rows()) != rows ||
      table.planted_segment.size() != rows || table.moved_down.size() != rows ||
      (rows > 0 && static_cast<std::size_t>(table.features.cols()) != feature_count)) {
    return "writing quarter file '" + path + "': a block of " + std::to_string(rows) +
           " rows came with " + std::to_string(table.ids.size()) + " ids, " +
           std::to_string(table.features.rows()) + " feature rows, " +
           std::to_string(table.planted_segment.size()) + " planted segments and " +
           std::to_string(table.moved_down.size()) + " moved_down flags";
  }
  return std::nullopt;
}

void write_quarter(const OutputGroup& root, const PlantedQuarters& planted, int quarter,
                   const QuarterTable& table) {
  RunAttributes attributes{{"quarter", static_cast<std::int64_t>(quarter)}};
  attributes.insert(attributes.end(), planted.attributes.begin(), planted.attributes.end());
  root.attributes(attributes);
  const CustomerTableBlock block{table.rows, table.total_rows, &planted.feature_names,
                                 &table.ids, &table.features,  &table.planted_segment,
                                 nullptr};
  const OutputGroup customers = write_customers_group(root, block);
  customers.write_rows(
      "moved_down",
      RowBlock{table.rows.begin, table.rows.size(), static_cast<hsize_t>(table.total_rows)},
      table.moved_down.data());
  const OutputGroup movement = root.create_group("planted");
  const auto segments = static_cast<hsize_t>(planted.segments);
  movement.write("transition", planted.transition.data(), {segments, segments + 1});
  movement.write("new_customer_share", planted.new_customer_share);
  movement.write("segment_value", planted.segment_value);
}

}  // namespace

std::vector<std::string> write_quarter_files(const std::string& directory, MPI_Comm comm,
                                             const PlantedQuarters& planted,
                                             const std::function<QuarterTable(int)>& table_of) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  PendingOutputs outputs(communicator);
  std::vector<std::string> paths;
  std::optional<std::string> error;
  for (int quarter = 1; quarter <= planted.quarters; ++quarter) {
    const std::string path =
        (std::filesystem::path(directory) / ("q" + std::to_string(quarter) + ".h5")).string();
    const QuarterTable table = table_of(quarter);
    communicator.agree(table_problem(path, table, planted.feature_names.size()));
    const std::string temporary = outputs.add(path);
    {
      OutputFile file(outputs, temporary, path);
      run_while_file_open(communicator,
                          [&] { write_quarter(file.root(), planted, quarter, table); });
      const std::optional<std::string> finished = file.finish();
      if (!error) error = finished;
    }
    paths.push_back(path);
  }
  outputs.commit(error);
  return paths;
}

}  // namespace microseg::io
