#include "microseg/io/assignment_scores.hpp"

#include <filesystem>
#include <optional>

#include "assignments_csv.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {
using namespace detail;

std::optional<std::string> block_problem(const ScoredBlock& block) {
  const auto count = static_cast<std::size_t>(block.rows.size());
  if (!block.ids || !block.segments || !block.distances || !block.second_segments ||
      !block.second_distances || !block.margins) {
    return std::string("scored assignments: every column is required");
  }
  if (block.rows.begin < 0 || block.rows.end < block.rows.begin ||
      block.rows.end > block.total_rows) {
    return "scored assignments: rows [" + std::to_string(block.rows.begin) + ", " +
           std::to_string(block.rows.end) + ") are outside " + std::to_string(block.total_rows);
  }
  for (std::size_t size :
       {block.ids->size(), block.segments->size(), block.distances->size(),
        block.second_segments->size(), block.second_distances->size(), block.margins->size()}) {
    if (size != count) {
      return "scored assignments: a block of " + std::to_string(count) +
             " rows came with a column of " + std::to_string(size);
    }
  }
  if (block.macro_segments && block.macro_segments->size() != count) {
    return std::string("scored assignments: one macro segment per customer expected");
  }
  if (block.external_ids && block.external_ids->values.size() != count) {
    return std::string("scored assignments: one external id per customer expected");
  }
  return std::nullopt;
}

// /assignments: every rank writes its block of each column.
void write_columns(const OutputGroup& root, const ScoredBlock& block) {
  const OutputGroup group = root.create_group("assignments");
  const RowBlock rows{block.rows.begin, block.rows.size(), static_cast<hsize_t>(block.total_rows)};
  group.write_rows("id", rows, block.ids->data());
  group.write_rows("segment", rows, block.segments->data());
  group.write_rows("distance", rows, block.distances->data());
  group.write_rows("second_segment", rows, block.second_segments->data());
  group.write_rows("second_distance", rows, block.second_distances->data());
  group.write_rows("margin", rows, block.margins->data());
  if (block.macro_segments) group.write_rows("macro_segment", rows, block.macro_segments->data());
  if (block.external_ids) write_external_ids(group, rows, *block.external_ids);
}

}  // namespace

std::vector<std::string> write_assignment_scores(const std::string& directory, MPI_Comm comm,
                                                 const ScoredBlock& block, const RunAttributes& run,
                                                 bool with_csv) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const std::string path = (std::filesystem::path(directory) / "assignments.h5").string();
  const std::string csv_path = (std::filesystem::path(directory) / "assignments.csv").string();
  std::optional<std::string> problem = block_problem(block);
  const std::int64_t written_rows = communicator.sum(block.rows.size());
  if (!problem && written_rows != block.total_rows) {
    problem = "scored assignments: the ranks' blocks hold " + std::to_string(written_rows) +
              " rows, expected " + std::to_string(block.total_rows);
  }
  if (!problem) problem = output_location_problem(path);
  communicator.agree(problem);

  PendingOutputs pending(communicator);
  const PendingFile csv{csv_path, with_csv ? pending.add(csv_path) : std::string()};
  const std::string temporary = pending.add(path);
  std::optional<std::string> error;
  {
    OutputFile file(pending, temporary, path);
    write_columns(file.root(), block);
    file.root().create_group("run").attributes(run);
    error = file.finish();
  }
  if (with_csv) {
    write_assignments_csv(csv, pending,
                          {block.ids, block.external_ids, block.segments, block.macro_segments,
                           block.distances, block.margins, block.publication},
                          error);
  }
  pending.commit(error);
  std::vector<std::string> files{path};
  if (with_csv) {
    files.push_back(csv_path);
  } else if (communicator.is_root()) {
    std::error_code ignored;  // an earlier run's CSV no longer describes this output
    std::filesystem::remove(csv_path, ignored);
  }
  return files;
}

}  // namespace microseg::io
