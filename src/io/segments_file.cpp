#include "microseg/io/segments_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <variant>

#include "hdf5_handle.hpp"
#include "hdf5_write.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

// Shortest text that reads back as the same double ("nan" and "inf" as pandas reads them).
std::string number_text(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// RFC 4180: a field with a comma, quote or line break is quoted, inner quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

void write_profiles_csv(const std::string& path, const std::string& final_path,
                        const SegmentationSummary& summary, const PendingOutputs& outputs) {
  const SegmentProfiles& p = summary.profiles;
  std::ofstream out(path, std::ios::trunc);
  outputs.protect(path);
  out << "segment,size,share";
  static const char* const statistics[] = {"mean", "std", "min", "max", "lift"};
  for (const auto& feature : summary.feature_names) {
    for (const char* statistic : statistics) out << ',' << csv_field(feature + "_" + statistic);
  }
  out << '\n';
  for (int s = 0; s < p.k; ++s) {
    out << s << ',' << p.size[s] << ',' << number_text(p.share[s]);
    for (int j = 0; j < p.d; ++j) {
      const std::size_t at = static_cast<std::size_t>(s) * p.d + j;
      for (const auto* values : {&p.mean, &p.std, &p.min, &p.max, &p.lift}) {
        out << ',' << number_text((*values)[at]);
      }
    }
    out << '\n';
  }
  out.close();
  if (!out) throw InputError("cannot write output file '" + final_path + "'");
}

void write_quality_csv(const std::string& path, const std::string& final_path,
                       const QualityReport& quality, const PendingOutputs& outputs) {
  std::ofstream out(path, std::ios::trunc);
  outputs.protect(path);
  out << "metric,value\n"
      << "inertia," << number_text(quality.inertia) << '\n'
      << "calinski_harabasz," << number_text(quality.calinski_harabasz) << '\n'
      << "davies_bouldin," << number_text(quality.davies_bouldin) << '\n'
      << "silhouette_simplified," << number_text(quality.silhouette_simplified) << '\n'
      << "silhouette_sampled," << number_text(quality.silhouette_sampled) << '\n'
      << "silhouette_sample_size," << quality.silhouette_sample_size << '\n';
  out.close();
  if (!out) throw InputError("cannot write output file '" + final_path + "'");
}

// Shapes the caller promised; checked before any collective so every rank fails alike.
std::optional<std::string> summary_problem(const SegmentationSummary& summary) {
  const std::string prefix = "segmentation summary: ";
  const SegmentProfiles& p = summary.profiles;
  const auto d = static_cast<Eigen::Index>(summary.feature_names.size());
  const auto k = summary.centroids_scaled.rows();
  const auto kd = static_cast<std::size_t>(k * d);
  if (summary.centroids_scaled.cols() != d || summary.centroids_original.rows() != k ||
      summary.centroids_original.cols() != d) {
    return prefix + "centroids do not match " + std::to_string(k) + " segments × " +
           std::to_string(d) + " features";
  }
  if (p.k != k || p.d != d || p.size.size() != static_cast<std::size_t>(k) ||
      p.share.size() != static_cast<std::size_t>(k) || p.mean.size() != kd || p.std.size() != kd ||
      p.min.size() != kd || p.max.size() != kd || p.lift.size() != kd ||
      p.population_mean.size() != static_cast<std::size_t>(d) ||
      p.population_std.size() != static_cast<std::size_t>(d)) {
    return prefix + "profiles do not match " + std::to_string(k) + " segments × " +
           std::to_string(d) + " features";
  }
  std::set<std::string> names;
  for (const auto& [name, value] : summary.run) {
    if (!names.insert(name).second) return prefix + "run attribute '" + name + "' appears twice";
  }
  return std::nullopt;
}

std::optional<std::string> assignment_problem(const AssignmentBlock& block) {
  const auto count = static_cast<std::size_t>(block.rows.size());
  if (block.ids == nullptr || block.segments == nullptr || block.distances == nullptr) {
    return std::string("assignments: ids, segments and distances are required");
  }
  if (block.rows.begin < 0 || block.rows.end < block.rows.begin ||
      block.rows.end > block.total_rows) {
    return "assignments: rows [" + std::to_string(block.rows.begin) + ", " +
           std::to_string(block.rows.end) + ") are outside " + std::to_string(block.total_rows);
  }
  if (block.ids->size() != count || block.segments->size() != count ||
      block.distances->size() != count) {
    return "assignments: a block of " + std::to_string(count) + " rows came with " +
           std::to_string(block.ids->size()) + " ids, " + std::to_string(block.segments->size()) +
           " segments and " + std::to_string(block.distances->size()) + " distances";
  }
  return std::nullopt;
}

}  // namespace

void ensure_writable_directory(const std::string& directory) {
  std::error_code code;
  fs::create_directories(directory, code);
  if (code) {
    throw InputError("cannot create output directory '" + directory + "': " + code.message());
  }
  if (!fs::is_directory(directory, code)) {
    throw InputError("output directory '" + directory + "' exists but is not a directory");
  }
  const fs::path probe =
      fs::path(directory) / (".microseg-write-probe-" + std::to_string(::getpid()));
  const int descriptor = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (descriptor < 0) {
    throw InputError("cannot write files in output directory '" + directory +
                     "': " + std::strerror(errno));
  }
  ::close(descriptor);
  fs::remove(probe, code);
}

void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const fs::path dir(directory);
  const std::string segments_path = (dir / "segments.h5").string();
  std::optional<std::string> problem = summary_problem(summary);
  if (!problem) problem = assignment_problem(assignments);
  const std::int64_t written_rows = communicator.sum(assignments.rows.size());
  if (!problem && written_rows != assignments.total_rows) {
    problem = "assignments: the ranks' blocks hold " + std::to_string(written_rows) +
              " rows, expected " + std::to_string(assignments.total_rows);
  }
  if (!problem) problem = output_location_problem(segments_path);
  communicator.agree(problem);

  // segments.h5 goes into place last: its presence means the whole output is there.
  PendingOutputs outputs(communicator);
  const std::string profiles_path = (dir / "profiles.csv").string();
  const std::string quality_path = (dir / "quality.csv").string();
  const std::string profiles_temporary = outputs.add(profiles_path);
  const std::string quality_temporary = outputs.add(quality_path);
  const std::string segments_temporary = outputs.add(segments_path);

  std::optional<std::string> error;
  const auto note = [&](herr_t status, const std::string& object) {
    if (status < 0 && !error) {
      error =
          "cannot write " + object + " of output file '" + segments_path + "'" + with_hdf5_detail();
    }
  };
  const bool root = communicator.is_root();
  const std::string& file_name = segments_path;
  {
    FileHandle file = create_parallel_file(segments_temporary, segments_path, comm);
    outputs.protect(segments_temporary);
    {
      const auto n = static_cast<hsize_t>(assignments.total_rows);
      const auto& rows = assignments.rows;
      GroupHandle group = create_group(file.get(), "assignments", file_name);
      DatasetHandle ids =
          create_dataset(group.get(), "id", H5T_STD_I64LE, {n}, Layout::row_chunks, file_name);
      DatasetHandle segments =
          create_dataset(group.get(), "segment", H5T_STD_I32LE, {n}, Layout::row_chunks, file_name);
      DatasetHandle distances = create_dataset(group.get(), "distance", H5T_IEEE_F64LE, {n},
                                               Layout::row_chunks, file_name);
      note(write_row_block(ids.get(), H5T_NATIVE_INT64, rows.begin, rows.size(),
                           assignments.ids->data()),
           "/assignments/id");
      note(write_row_block(segments.get(), H5T_NATIVE_INT32, rows.begin, rows.size(),
                           assignments.segments->data()),
           "/assignments/segment");
      note(write_row_block(distances.get(), H5T_NATIVE_DOUBLE, rows.begin, rows.size(),
                           assignments.distances->data()),
           "/assignments/distance");
    }
    const auto k = static_cast<hsize_t>(summary.centroids_scaled.rows());
    const auto d = static_cast<hsize_t>(summary.feature_names.size());
    // Small datasets: every rank makes the same metadata calls, rank 0 supplies the data.
    {
      GroupHandle group = create_group(file.get(), "centroids", file_name);
      for (const auto& [name, matrix] : {std::pair{"scaled", &summary.centroids_scaled},
                                         std::pair{"original", &summary.centroids_original}}) {
        DatasetHandle dataset = create_dataset(group.get(), name, H5T_IEEE_F64LE, {k, d},
                                               Layout::contiguous, file_name);
        write_string_array_attribute(dataset.get(), "feature_names", summary.feature_names,
                                     file_name);
        note(write_from_root(dataset.get(), H5T_NATIVE_DOUBLE, root, matrix->data()),
             std::string("/centroids/") + name);
      }
    }
    {
      const SegmentProfiles& p = summary.profiles;
      GroupHandle group = create_group(file.get(), "profiles", file_name);
      write_string_array_attribute(group.get(), "feature_names", summary.feature_names, file_name);
      const auto write = [&](const char* name, hid_t file_type, hid_t memory_type,
                             const std::vector<hsize_t>& dims, const void* data) {
        DatasetHandle dataset =
            create_dataset(group.get(), name, file_type, dims, Layout::contiguous, file_name);
        note(write_from_root(dataset.get(), memory_type, root, data),
             std::string("/profiles/") + name);
      };
      write("size", H5T_STD_I64LE, H5T_NATIVE_INT64, {k}, p.size.data());
      write("share", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {k}, p.share.data());
      write("mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {k, d}, p.mean.data());
      write("std", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {k, d}, p.std.data());
      write("min", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {k, d}, p.min.data());
      write("max", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {k, d}, p.max.data());
      write("lift", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {k, d}, p.lift.data());
      write("population_mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {d}, p.population_mean.data());
      write("population_std", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {d}, p.population_std.data());
    }
    {
      const QualityReport& q = summary.quality;
      GroupHandle group = create_group(file.get(), "quality", file_name);
      write_scalar_attribute(group.get(), "inertia", q.inertia, file_name);
      write_scalar_attribute(group.get(), "calinski_harabasz", q.calinski_harabasz, file_name);
      write_scalar_attribute(group.get(), "davies_bouldin", q.davies_bouldin, file_name);
      write_scalar_attribute(group.get(), "silhouette_simplified", q.silhouette_simplified,
                             file_name);
      write_scalar_attribute(group.get(), "silhouette_sampled", q.silhouette_sampled, file_name);
      write_scalar_attribute(group.get(), "silhouette_sample_size", q.silhouette_sample_size,
                             file_name);
    }
    {
      GroupHandle group = create_group(file.get(), "run", file_name);
      for (const auto& attribute : summary.run) {
        std::visit(
            [&](const auto& v) {
              write_scalar_attribute(group.get(), attribute.first, v, file_name);
            },
            attribute.second);
      }
    }
    note(file.close(), "the end");
  }
  if (root && !error) {
    try {
      write_profiles_csv(profiles_temporary, profiles_path, summary, outputs);
      write_quality_csv(quality_temporary, quality_path, summary.quality, outputs);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  outputs.commit(error);
}

}  // namespace microseg::io
