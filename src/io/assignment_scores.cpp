#include "microseg/io/assignment_scores.hpp"

#include <filesystem>
#include <optional>
#include <variant>

#include "hdf5_handle.hpp"
#include "hdf5_write.hpp"
#include "microseg/distributed/communicator.hpp"

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
  return std::nullopt;
}

}  // namespace

void write_assignment_scores(const std::string& directory, MPI_Comm comm, const ScoredBlock& block,
                             const RunAttributes& run) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const std::string path = (std::filesystem::path(directory) / "assignments.h5").string();
  std::optional<std::string> problem = block_problem(block);
  const std::int64_t written_rows = communicator.sum(block.rows.size());
  if (!problem && written_rows != block.total_rows) {
    problem = "scored assignments: the ranks' blocks hold " + std::to_string(written_rows) +
              " rows, expected " + std::to_string(block.total_rows);
  }
  if (!problem) problem = output_location_problem(path);
  communicator.agree(problem);

  PendingOutputs pending(communicator);
  const std::string temporary = pending.add(path);
  std::optional<std::string> error;
  const auto note = [&](herr_t status, const std::string& object) {
    if (status < 0 && !error) {
      error = "cannot write " + object + " of output file '" + path + "'" + with_hdf5_detail();
    }
  };
  {
    FileHandle file = create_parallel_file(temporary, path, comm);
    pending.protect(temporary);
    {
      const auto n = static_cast<hsize_t>(block.total_rows);
      GroupHandle group = create_group(file.get(), "assignments", path);
      const auto column = [&](const char* name, hid_t file_type, hid_t memory_type,
                              const void* data) {
        DatasetHandle dataset =
            create_dataset(group.get(), name, file_type, {n}, Layout::row_chunks, path);
        note(write_row_block(dataset.get(), memory_type, block.rows.begin, block.rows.size(), data),
             std::string("/assignments/") + name);
      };
      column("id", H5T_STD_I64LE, H5T_NATIVE_INT64, block.ids->data());
      column("segment", H5T_STD_I32LE, H5T_NATIVE_INT32, block.segments->data());
      column("distance", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, block.distances->data());
      column("second_segment", H5T_STD_I32LE, H5T_NATIVE_INT32, block.second_segments->data());
      column("second_distance", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, block.second_distances->data());
      column("margin", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, block.margins->data());
    }
    {
      GroupHandle group = create_group(file.get(), "run", path);
      for (const auto& attribute : run) {
        std::visit(
            [&](const auto& v) { write_scalar_attribute(group.get(), attribute.first, v, path); },
            attribute.second);
      }
    }
    note(file.close(), "the end");
  }
  pending.commit(error);
}

}  // namespace microseg::io
