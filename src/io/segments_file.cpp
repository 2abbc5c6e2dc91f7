#include "microseg/io/segments_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <variant>

#include "feature_transform_file.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_write.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

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

// The stable id of each segment row: the identity's ids, or the row numbers without one.
std::vector<std::int64_t> segment_labels(const SegmentationSummary& summary,
                                         const RunOutputs& outputs) {
  if (outputs.identity) return outputs.identity->ids;
  std::vector<std::int64_t> labels(static_cast<std::size_t>(summary.profiles.k));
  for (std::size_t s = 0; s < labels.size(); ++s) labels[s] = static_cast<std::int64_t>(s);
  return labels;
}

// "Can't lose them" → "cant_lose_them": a named RFM segment as part of a column name.
std::string rfm_column_slug(const std::string& name) {
  std::string slug;
  for (char c : name) {
    if (c == ' ') {
      slug += '_';
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return slug;
}

void write_profiles_csv(const std::string& path, const std::string& final_path,
                        const SegmentationSummary& summary, const RunOutputs& outputs,
                        const PendingOutputs& pending) {
  const SegmentProfiles& p = summary.profiles;
  const ActionableProfiles* actionable = outputs.actionable;
  const std::vector<std::int64_t> labels = segment_labels(summary, outputs);
  std::ofstream out(path, std::ios::trunc);
  pending.protect(path);
  out << "segment,size,share";
  static const char* const statistics[] = {"mean", "std", "min", "max", "lift"};
  for (const auto& feature : summary.feature_names) {
    for (const char* statistic : statistics) out << ',' << csv_field(feature + "_" + statistic);
  }
  // Columns for marketers come after the statistics, so readers by column name are unaffected.
  if (actionable) {
    out << ",description,undersized";
    if (actionable->value) out << ",value_total,value_mean,value_share";
    out << ",growth,value_growth,priority,priority_rank";
    if (actionable->rfm) {
      out << ",rfm_recency_score,rfm_frequency_score,rfm_monetary_score,rfm";
      for (const std::string& name : rfm_segment_names()) out << ",rfm_" << rfm_column_slug(name);
      out << ",rfm_dominant";
    }
  }
  out << '\n';
  for (int s = 0; s < p.k; ++s) {
    out << labels[s] << ',' << p.size[s] << ',' << round_trip_text(p.share[s]);
    for (int j = 0; j < p.d; ++j) {
      const std::size_t at = static_cast<std::size_t>(s) * p.d + j;
      for (const auto* values : {&p.mean, &p.std, &p.min, &p.max, &p.lift}) {
        out << ',' << round_trip_text((*values)[at]);
      }
    }
    if (actionable) {
      out << ',' << csv_field(actionable->description[s]) << ','
          << static_cast<int>(actionable->undersized[s]);
      if (const auto& value = actionable->value) {
        out << ',' << round_trip_text(value->total[s]) << ',' << round_trip_text(value->mean[s])
            << ',' << round_trip_text(value->share[s]);
      }
      const SegmentPriority& priority = actionable->priority;
      out << ',' << round_trip_text(priority.growth[s]) << ','
          << round_trip_text(priority.value_growth[s]) << ','
          << round_trip_text(priority.priority[s]) << ',' << priority.rank[s];
      if (const auto& rfm = actionable->rfm) {
        for (int c = 0; c < 3; ++c) {
          out << ',' << round_trip_text(rfm->score_mean[static_cast<std::size_t>(s) * 3 + c]);
        }
        out << ',' << csv_field(rfm_summary_text(*rfm, s));
        for (int code = 0; code < rfm_segment_count; ++code) {
          out << ','
              << round_trip_text(
                     rfm->segment_share[static_cast<std::size_t>(s) * rfm_segment_count +
                                        static_cast<std::size_t>(code)]);
        }
        out << ',' << csv_field(rfm_segment_names()[dominant_rfm_segment(*rfm, s)]);
      }
    }
    out << '\n';
  }
  out.close();
  if (!out) throw InputError("cannot write output file '" + final_path + "'");
}

// One row per stable id of either run: the flows of docs/file-format.md.
void write_migration_csv(const std::string& path, const std::string& final_path,
                         const MigrationReport& migration, const PendingOutputs& pending) {
  const SegmentFlows& f = migration.flows;
  const bool valued = !f.value_inflow.empty();
  std::ofstream out(path, std::ios::trunc);
  pending.protect(path);
  out << "segment,in_previous,in_new,previous_size,new_size,stayed,moved_in,new_customers,"
         "moved_out,lost_customers,inflow,outflow,net,retention";
  if (valued) out << ",value_inflow,value_outflow,value_net";
  out << ",drift\n";
  for (std::size_t s = 0; s < f.segment_id.size(); ++s) {
    out << f.segment_id[s] << ',' << static_cast<int>(f.in_previous[s]) << ','
        << static_cast<int>(f.in_current[s]) << ',' << f.previous_size[s] << ','
        << f.current_size[s] << ',' << f.stayed[s] << ',' << f.moved_in[s] << ',' << f.joined[s]
        << ',' << f.moved_out[s] << ',' << f.left[s] << ',' << f.inflow[s] << ',' << f.outflow[s]
        << ',' << f.net[s] << ',' << round_trip_text(f.retention[s]);
    if (valued) {
      out << ',' << round_trip_text(f.value_inflow[s]) << ',' << round_trip_text(f.value_outflow[s])
          << ',' << round_trip_text(f.value_net[s]);
    }
    out << ',' << round_trip_text(f.drift[s]) << '\n';
  }
  out.close();
  if (!out) throw InputError("cannot write output file '" + final_path + "'");
}

// The counts matrix as a spreadsheet: previous segments down, new segments across, plus the
// row of new customers and the column of lost ones.
void write_migration_matrix_csv(const std::string& path, const std::string& final_path,
                                const MigrationMatrix& matrix, const PendingOutputs& pending) {
  std::ofstream out(path, std::ios::trunc);
  pending.protect(path);
  out << "previous_segment";
  for (std::int64_t id : matrix.current_ids) out << ',' << id;
  out << ",lost\n";
  for (int p = 0; p <= matrix.previous_k(); ++p) {
    if (p < matrix.previous_k()) {
      out << matrix.previous_ids[p];
    } else {
      out << "new";
    }
    for (int c = 0; c <= matrix.current_k(); ++c) out << ',' << matrix.counts[matrix.at(p, c)];
    out << '\n';
  }
  out.close();
  if (!out) throw InputError("cannot write output file '" + final_path + "'");
}

// at_risk.csv without gathering it: each rank formats its own rows, an exclusive prefix sum of
// the byte counts places them, and every rank writes its range of the file rank 0 created.
// Collective; a failure is recorded in `error` (agreed later by the commit).
void write_at_risk_csv(const distributed::Communicator& comm, const std::string& path,
                       const std::string& final_path, const AtRiskCustomers* risk,
                       const PendingOutputs& pending, std::optional<std::string>& error) {
  const std::string header =
      "id,previous_segment,new_segment,previous_value,new_value,value_drop\n";
  std::string text = comm.is_root() ? header : std::string();
  if (risk) {
    for (std::size_t i = 0; i < risk->id.size(); ++i) {
      text += std::to_string(risk->id[i]) + ',' + std::to_string(risk->previous_segment[i]) + ',' +
              std::to_string(risk->new_segment[i]) + ',' +
              round_trip_text(risk->previous_value[i]) + ',' + round_trip_text(risk->new_value[i]) +
              ',' + round_trip_text(risk->drop[i]) + '\n';
    }
  }
  const std::int64_t offset = comm.exclusive_prefix_sum(static_cast<std::int64_t>(text.size()));
  bool created = true;
  if (comm.is_root()) {
    const int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    created = descriptor >= 0;
    if (created) ::close(descriptor);
    pending.protect(path);
  }
  if (comm.any(!created)) {
    if (!error) error = "cannot write output file '" + final_path + "'";
    return;
  }
  const int descriptor = ::open(path.c_str(), O_WRONLY);
  bool written = descriptor >= 0;
  for (std::size_t done = 0; written && done < text.size();) {
    const ssize_t step = ::pwrite(descriptor, text.data() + done, text.size() - done,
                                  static_cast<off_t>(offset) + static_cast<off_t>(done));
    written = step > 0;
    if (written) done += static_cast<std::size_t>(step);
  }
  if (descriptor >= 0 && ::close(descriptor) != 0) written = false;
  if (!written && !error) error = "cannot write output file '" + final_path + "'";
}

void write_quality_csv(const std::string& path, const std::string& final_path,
                       const QualityReport& quality, const PendingOutputs& outputs) {
  std::ofstream out(path, std::ios::trunc);
  outputs.protect(path);
  out << "metric,value\n"
      << "inertia," << round_trip_text(quality.inertia) << '\n'
      << "calinski_harabasz," << round_trip_text(quality.calinski_harabasz) << '\n'
      << "davies_bouldin," << round_trip_text(quality.davies_bouldin) << '\n'
      << "silhouette_simplified," << round_trip_text(quality.silhouette_simplified) << '\n'
      << "silhouette_sampled," << round_trip_text(quality.silhouette_sampled) << '\n'
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

// Shapes of the additions, checked with the summary before any collective.
std::optional<std::string> outputs_problem(const SegmentationSummary& summary,
                                           const RunOutputs& outputs,
                                           const AssignmentBlock& assignments) {
  const std::string prefix = "run outputs: ";
  const auto k = static_cast<std::size_t>(summary.profiles.k);
  const std::size_t d = summary.feature_names.size();
  if (outputs.scaling &&
      (outputs.scaling->offset.size() != d || outputs.scaling->scale.size() != d ||
       outputs.scaling->log1p.size() != d)) {
    return prefix + "the scaling model does not have " + std::to_string(d) + " features";
  }
  if (outputs.identity && outputs.identity->ids.size() != k) {
    return prefix + std::to_string(outputs.identity->ids.size()) + " segment ids for " +
           std::to_string(k) + " segments";
  }
  if (const ActionableProfiles* a = outputs.actionable) {
    const SegmentPriority& pr = a->priority;
    if (a->description.size() != k || a->undersized.size() != k || pr.growth.size() != k ||
        pr.value_growth.size() != k || pr.priority.size() != k || pr.rank.size() != k ||
        (a->value && (a->value->total.size() != k || a->value->mean.size() != k ||
                      a->value->share.size() != k)) ||
        (a->rfm && (a->rfm->score_mean.size() != 3 * k || a->rfm->quintile_share.size() != 15 * k ||
                    a->rfm->thresholds.size() != 12 ||
                    a->rfm->segment_share.size() != rfm_segment_count * k))) {
      return prefix + "the actionable profiles do not match " + std::to_string(k) + " segments";
    }
  }
  if (outputs.values &&
      outputs.values->size() != static_cast<std::size_t>(assignments.rows.size())) {
    return prefix + "one value per assigned customer expected";
  }
  if (const MigrationReport* m = outputs.migration) {
    const auto cells = static_cast<std::size_t>(m->matrix.previous_k() + 1) *
                       static_cast<std::size_t>(m->matrix.current_k() + 1);
    if (m->matrix.counts.size() != cells ||
        (!m->matrix.value.empty() && m->matrix.value.size() != cells)) {
      return prefix + "the migration matrix does not match its segment ids";
    }
    if (!outputs.moves) return prefix + "a migration needs its moves";
  }
  if (const CustomerMoves* moves = outputs.moves) {
    const std::size_t n = moves->id.size();
    if (moves->previous_segment.size() != n || moves->new_segment.size() != n ||
        moves->previous_distance.size() != n || moves->new_distance.size() != n ||
        moves->at_risk.size() != n || moves->offset < 0 ||
        moves->offset + static_cast<std::int64_t>(n) > moves->total) {
      return prefix + "the moves block is inconsistent";
    }
  }
  if (const AtRiskCustomers* risk = outputs.at_risk) {
    const std::size_t n = risk->id.size();
    if (risk->previous_segment.size() != n || risk->new_segment.size() != n ||
        risk->previous_value.size() != n || risk->new_value.size() != n || risk->drop.size() != n ||
        risk->offset < 0 || risk->offset + static_cast<std::int64_t>(n) > risk->total) {
      return prefix + "the at-risk block is inconsistent";
    }
  }
  return std::nullopt;
}

// A 1-D int64 array attribute (HDF5 attributes may be written in parallel when every rank
// writes the same value).
void write_int64_array_attribute(hid_t object, const std::string& name,
                                 const std::vector<std::int64_t>& values, const std::string& file) {
  DataspaceHandle space = simple_dataspace({values.size()});
  AttributeHandle attribute(
      H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  static const std::int64_t none = 0;
  if (!attribute.valid() ||
      H5Awrite(attribute.get(), H5T_NATIVE_INT64, values.empty() ? &none : values.data()) < 0) {
    throw InputError("cannot write attribute " + name + " in output file '" + file + "'" +
                     with_hdf5_detail());
  }
}

// Fixed-length UTF-8 strings, NUL-padded to the longest: parallel HDF5 cannot write
// variable-length data, and h5py reads these as bytes.
DatatypeHandle fixed_string_type(const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const auto& value : values) width = std::max(width, value.size());
  DatatypeHandle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), width);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  return type;
}

std::vector<char> fixed_string_buffer(const std::vector<std::string>& values, std::size_t width) {
  std::vector<char> buffer(std::max<std::size_t>(values.size(), 1) * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::copy(values[i].begin(), values[i].end(),
              buffer.begin() + static_cast<std::ptrdiff_t>(i * width));
  }
  return buffer;
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

std::vector<std::string> segmentation_files(const std::string& directory, bool with_migration) {
  const fs::path dir(directory);
  std::vector<std::string> files{(dir / "segments.h5").string(), (dir / "profiles.csv").string(),
                                 (dir / "quality.csv").string()};
  if (with_migration) {
    files.push_back((dir / "migration.csv").string());
    files.push_back((dir / "migration_matrix.csv").string());
    files.push_back((dir / "at_risk.csv").string());
  }
  return files;
}

void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments) {
  write_segmentation(directory, comm, summary, assignments, RunOutputs{});
}

void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments,
                        const RunOutputs& outputs) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const fs::path dir(directory);
  const std::string segments_path = (dir / "segments.h5").string();
  std::optional<std::string> problem = summary_problem(summary);
  if (!problem) problem = assignment_problem(assignments);
  if (!problem) problem = outputs_problem(summary, outputs, assignments);
  const std::int64_t written_rows = communicator.sum(assignments.rows.size());
  if (!problem && written_rows != assignments.total_rows) {
    problem = "assignments: the ranks' blocks hold " + std::to_string(written_rows) +
              " rows, expected " + std::to_string(assignments.total_rows);
  }
  // Optional per-rank parts must be there on every rank, since their datasets are collective.
  const std::int64_t ranks_with_values = communicator.sum(std::int64_t{outputs.values != nullptr});
  const std::int64_t ranks_with_moves = communicator.sum(std::int64_t{outputs.moves != nullptr});
  const std::int64_t ranks_with_at_risk =
      communicator.sum(std::int64_t{outputs.at_risk != nullptr});
  if (!problem && ((ranks_with_values != 0 && ranks_with_values != communicator.size()) ||
                   (ranks_with_moves != 0 && ranks_with_moves != communicator.size()) ||
                   (ranks_with_at_risk != 0 && ranks_with_at_risk != communicator.size()))) {
    problem = std::string("run outputs: values and moves must be given on every rank or none");
  }
  if (!problem) problem = output_location_problem(segments_path);
  communicator.agree(problem);

  // segments.h5 goes into place last: its presence means the whole output is there.
  PendingOutputs pending(communicator);
  const std::string profiles_path = (dir / "profiles.csv").string();
  const std::string quality_path = (dir / "quality.csv").string();
  const std::string migration_path = (dir / "migration.csv").string();
  const std::string matrix_path = (dir / "migration_matrix.csv").string();
  const std::string profiles_temporary = pending.add(profiles_path);
  const std::string quality_temporary = pending.add(quality_path);
  const std::string migration_temporary = outputs.migration ? pending.add(migration_path) : "";
  const std::string matrix_temporary = outputs.migration ? pending.add(matrix_path) : "";
  const std::string at_risk_path = (dir / "at_risk.csv").string();
  const std::string at_risk_temporary = outputs.migration ? pending.add(at_risk_path) : "";
  const std::string segments_temporary = pending.add(segments_path);

  std::optional<std::string> error;
  const auto note = [&](herr_t status, const std::string& object) {
    if (status < 0 && !error) {
      error =
          "cannot write " + object + " of output file '" + segments_path + "'" + with_hdf5_detail();
    }
  };
  const bool root = communicator.is_root();
  const std::string& file_name = segments_path;
  const std::vector<std::int64_t> labels = segment_labels(summary, outputs);
  // Small datasets: every rank makes the same metadata calls, rank 0 supplies the data.
  const auto write_small = [&](hid_t group, const std::string& group_path, const char* name,
                               hid_t file_type, hid_t memory_type, const std::vector<hsize_t>& dims,
                               const void* data) {
    DatasetHandle dataset =
        create_dataset(group, name, file_type, dims, Layout::contiguous, file_name);
    hsize_t elements = 1;
    for (hsize_t extent : dims) elements *= extent;
    // HDF5 refuses raw-data writes to an empty dataset; there is nothing to write anyway.
    if (elements > 0) {
      note(write_from_root(dataset.get(), memory_type, root, data), group_path + "/" + name);
    }
  };
  const auto write_doubles = [&](hid_t group, const std::string& group_path, const char* name,
                                 const std::vector<double>& values,
                                 const std::vector<hsize_t>& dims) {
    write_small(group, group_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, dims, values.data());
  };
  const auto write_int64s = [&](hid_t group, const std::string& group_path, const char* name,
                                const std::vector<std::int64_t>& values,
                                const std::vector<hsize_t>& dims) {
    write_small(group, group_path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, dims, values.data());
  };
  const auto write_int8s = [&](hid_t group, const std::string& group_path, const char* name,
                               const std::vector<std::int8_t>& values) {
    write_small(group, group_path, name, H5T_STD_I8LE, H5T_NATIVE_INT8, {values.size()},
                values.data());
  };
  const auto write_strings = [&](hid_t group, const std::string& group_path, const char* name,
                                 const std::vector<std::string>& values) {
    DatatypeHandle type = fixed_string_type(values);
    const std::vector<char> buffer = fixed_string_buffer(values, H5Tget_size(type.get()));
    write_small(group, group_path, name, type.get(), type.get(), {values.size()}, buffer.data());
  };
  {
    FileHandle file = create_parallel_file(segments_temporary, segments_path, comm);
    pending.protect(segments_temporary);
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
      if (outputs.values) {
        DatasetHandle values = create_dataset(group.get(), "value", H5T_IEEE_F64LE, {n},
                                              Layout::row_chunks, file_name);
        note(write_row_block(values.get(), H5T_NATIVE_DOUBLE, rows.begin, rows.size(),
                             outputs.values->data()),
             "/assignments/value");
      }
    }
    const auto k = static_cast<hsize_t>(summary.centroids_scaled.rows());
    const auto d = static_cast<hsize_t>(summary.feature_names.size());
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
      const std::string at = "/profiles";
      GroupHandle group = create_group(file.get(), "profiles", file_name);
      const hid_t g = group.get();
      write_string_array_attribute(g, "feature_names", summary.feature_names, file_name);
      write_small(g, at, "size", H5T_STD_I64LE, H5T_NATIVE_INT64, {k}, p.size.data());
      write_doubles(g, at, "share", p.share, {k});
      write_doubles(g, at, "mean", p.mean, {k, d});
      write_doubles(g, at, "std", p.std, {k, d});
      write_doubles(g, at, "min", p.min, {k, d});
      write_doubles(g, at, "max", p.max, {k, d});
      write_doubles(g, at, "lift", p.lift, {k, d});
      write_doubles(g, at, "population_mean", p.population_mean, {d});
      write_doubles(g, at, "population_std", p.population_std, {d});
      if (outputs.identity) write_int64s(g, at, "segment_id", labels, {k});
      if (const ActionableProfiles* a = outputs.actionable) {
        write_strings(g, at, "description", a->description);
        write_int8s(g, at, "undersized", a->undersized);
        write_scalar_attribute(g, "min_segment_size", a->min_segment_size, file_name);
        write_scalar_attribute(g, "value_feature", a->value ? a->value->feature : std::string(),
                               file_name);
        if (const auto& value = a->value) {
          write_doubles(g, at, "value_total", value->total, {k});
          write_doubles(g, at, "value_mean", value->mean, {k});
          write_doubles(g, at, "value_share", value->share, {k});
        }
        write_doubles(g, at, "growth", a->priority.growth, {k});
        write_doubles(g, at, "value_growth", a->priority.value_growth, {k});
        write_doubles(g, at, "priority", a->priority.priority, {k});
        write_small(g, at, "priority_rank", H5T_STD_I32LE, H5T_NATIVE_INT32, {k},
                    a->priority.rank.data());
        if (const auto& rfm = a->rfm) {
          GroupHandle rfm_group = create_group(g, "rfm", file_name);
          const hid_t r = rfm_group.get();
          const std::string rfm_at = at + "/rfm";
          write_string_array_attribute(
              r, "columns", {rfm->columns[0], rfm->columns[1], rfm->columns[2]}, file_name);
          write_doubles(r, rfm_at, "score_mean", rfm->score_mean, {k, 3});
          write_doubles(r, rfm_at, "quintile_share", rfm->quintile_share, {k, 3, 5});
          write_doubles(r, rfm_at, "thresholds", rfm->thresholds, {3, 4});
          std::vector<std::string> texts;
          for (int s = 0; s < static_cast<int>(k); ++s) texts.push_back(rfm_summary_text(*rfm, s));
          write_strings(r, rfm_at, "summary", texts);
          {
            DatasetHandle shares = create_dataset(r, "segment_share", H5T_IEEE_F64LE,
                                                  {k, static_cast<hsize_t>(rfm_segment_count)},
                                                  Layout::contiguous, file_name);
            write_string_array_attribute(shares.get(), "segment_names", rfm_segment_names(),
                                         file_name);
            note(write_from_root(shares.get(), H5T_NATIVE_DOUBLE, root, rfm->segment_share.data()),
                 rfm_at + "/segment_share");
          }
          std::vector<std::string> dominant;
          for (int s = 0; s < static_cast<int>(k); ++s) {
            dominant.push_back(rfm_segment_names()[dominant_rfm_segment(*rfm, s)]);
          }
          write_strings(r, rfm_at, "dominant_segment", dominant);
        }
      }
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
    if (outputs.scaling && outputs.identity) {
      const std::string at = "/model";
      GroupHandle group = create_group(file.get(), "model", file_name);
      const hid_t g = group.get();
      write_string_array_attribute(g, "feature_names", summary.feature_names, file_name);
      write_scalar_attribute(g, "next_segment_id", outputs.identity->next_id, file_name);
      write_scalar_attribute(g, "value_feature",
                             outputs.actionable && outputs.actionable->value
                                 ? outputs.actionable->value->feature
                                 : std::string(),
                             file_name);
      write_int64s(g, at, "segment_ids", labels, {k});
      write_int64s(g, at, "retired_segment_ids", outputs.identity->retired_ids,
                   {outputs.identity->retired_ids.size()});
      GroupHandle scaling_group = create_group(g, "scaling", file_name);
      const hid_t sg = scaling_group.get();
      write_scalar_attribute(sg, "kind", to_string(outputs.scaling->kind), file_name);
      write_string_array_attribute(sg, "feature_names", summary.feature_names, file_name);
      const std::vector<std::int8_t> log1p(outputs.scaling->log1p.begin(),
                                           outputs.scaling->log1p.end());
      write_small(sg, at + "/scaling", "log1p", H5T_STD_I8LE, H5T_NATIVE_INT8, {d}, log1p.data());
      write_doubles(sg, at + "/scaling", "offset", outputs.scaling->offset, {d});
      write_doubles(sg, at + "/scaling", "scale", outputs.scaling->scale, {d});
      if (outputs.transform) write_feature_transform(g, *outputs.transform, root, file_name, note);
    }
    if (const MigrationReport* migration = outputs.migration) {
      const std::string at = "/migration";
      const MigrationMatrix& m = migration->matrix;
      const MigrationStability& st = migration->stability;
      GroupHandle group = create_group(file.get(), "migration", file_name);
      const hid_t g = group.get();
      write_scalar_attribute(g, "previous_run", outputs.previous_run, file_name);
      write_scalar_attribute(g, "value_feature",
                             outputs.actionable && outputs.actionable->value
                                 ? outputs.actionable->value->feature
                                 : std::string(),
                             file_name);
      write_scalar_attribute(g, "adjusted_rand_index", st.adjusted_rand_index, file_name);
      write_scalar_attribute(g, "adjusted_mutual_information", st.adjusted_mutual_information,
                             file_name);
      write_scalar_attribute(g, "share_stayed", st.share_stayed, file_name);
      write_scalar_attribute(g, "common_customers", st.common, file_name);
      write_scalar_attribute(g, "new_customers", st.joined, file_name);
      write_scalar_attribute(g, "lost_customers", st.left, file_name);
      write_scalar_attribute(g, "stayed_customers", st.stayed, file_name);
      write_scalar_attribute(g, "moved_customers", st.moved, file_name);
      write_scalar_attribute(g, "at_risk_customers", st.at_risk, file_name);
      if (outputs.match) {
        write_scalar_attribute(g, "match_max_distance", outputs.match->max_distance, file_name);
      }
      // Row and column labels; -1 labels the row of new customers and the column of lost ones.
      std::vector<std::int64_t> row_labels(m.previous_ids), col_labels(m.current_ids);
      row_labels.push_back(-1);
      col_labels.push_back(-1);
      const std::vector<hsize_t> matrix_dims{row_labels.size(), col_labels.size()};
      for (const char* name : {"counts", "value"}) {
        const bool counts = std::string(name) == "counts";
        if (!counts && m.value.empty()) continue;
        DatasetHandle dataset = create_dataset(g, name, counts ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                                               matrix_dims, Layout::contiguous, file_name);
        write_int64_array_attribute(dataset.get(), "prev_segment_ids", row_labels, file_name);
        write_int64_array_attribute(dataset.get(), "new_segment_ids", col_labels, file_name);
        note(write_from_root(dataset.get(), counts ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, root,
                             counts ? static_cast<const void*>(m.counts.data()) : m.value.data()),
             at + "/" + name);
      }
      const std::vector<std::int64_t> fresh =
          outputs.match ? outputs.match->fresh_ids : std::vector<std::int64_t>{};
      const std::vector<std::int64_t> retired =
          outputs.match ? outputs.match->retired_now : std::vector<std::int64_t>{};
      write_int64s(g, at, "fresh_segment_ids", fresh, {fresh.size()});
      write_int64s(g, at, "retired_segment_ids", retired, {retired.size()});
      {
        const SegmentFlows& f = migration->flows;
        const std::string flows_at = at + "/segments";
        GroupHandle flows = create_group(g, "segments", file_name);
        const hid_t fg = flows.get();
        const hsize_t u = f.segment_id.size();
        write_int64s(fg, flows_at, "segment_id", f.segment_id, {u});
        write_int8s(fg, flows_at, "in_previous", f.in_previous);
        write_int8s(fg, flows_at, "in_new", f.in_current);
        write_int64s(fg, flows_at, "previous_size", f.previous_size, {u});
        write_int64s(fg, flows_at, "new_size", f.current_size, {u});
        write_int64s(fg, flows_at, "stayed", f.stayed, {u});
        write_int64s(fg, flows_at, "moved_in", f.moved_in, {u});
        write_int64s(fg, flows_at, "new_customers", f.joined, {u});
        write_int64s(fg, flows_at, "moved_out", f.moved_out, {u});
        write_int64s(fg, flows_at, "lost_customers", f.left, {u});
        write_int64s(fg, flows_at, "inflow", f.inflow, {u});
        write_int64s(fg, flows_at, "outflow", f.outflow, {u});
        write_int64s(fg, flows_at, "net", f.net, {u});
        write_doubles(fg, flows_at, "retention", f.retention, {u});
        if (!f.value_inflow.empty()) {
          write_doubles(fg, flows_at, "value_inflow", f.value_inflow, {u});
          write_doubles(fg, flows_at, "value_outflow", f.value_outflow, {u});
          write_doubles(fg, flows_at, "value_net", f.value_net, {u});
        }
        write_doubles(fg, flows_at, "drift", f.drift, {u});
      }
      // One column of a table whose rows are spread over the ranks: this rank's `count` rows
      // from global row `offset`, `total` in all.
      const auto write_spread_column = [&](hid_t group, const std::string& group_at,
                                           const char* name, hid_t file_type, hid_t memory_type,
                                           hsize_t total, std::int64_t offset, std::int64_t count,
                                           const void* data) {
        DatasetHandle dataset =
            create_dataset(group, name, file_type, {total}, Layout::row_chunks, file_name);
        if (total == 0) return;  // no rows: an empty dataset takes no raw-data write
        note(write_row_block(dataset.get(), memory_type, offset, count, data),
             group_at + "/" + name);
      };
      {
        const CustomerMoves& moves = *outputs.moves;
        const std::string moves_at = at + "/moves";
        GroupHandle moves_group = create_group(g, "moves", file_name);
        const hid_t mg = moves_group.get();
        const auto total = static_cast<hsize_t>(moves.total);
        const auto count = static_cast<std::int64_t>(moves.id.size());
        const auto write_column = [&](const char* name, hid_t file_type, hid_t memory_type,
                                      const void* data) {
          write_spread_column(mg, moves_at, name, file_type, memory_type, total, moves.offset,
                              count, data);
        };
        write_column("id", H5T_STD_I64LE, H5T_NATIVE_INT64, moves.id.data());
        write_column("previous_segment", H5T_STD_I32LE, H5T_NATIVE_INT32,
                     moves.previous_segment.data());
        write_column("new_segment", H5T_STD_I32LE, H5T_NATIVE_INT32, moves.new_segment.data());
        write_column("previous_distance", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                     moves.previous_distance.data());
        write_column("new_distance", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, moves.new_distance.data());
        write_column("at_risk", H5T_STD_I8LE, H5T_NATIVE_INT8, moves.at_risk.data());
      }
      {
        const AtRiskCustomers none;
        const AtRiskCustomers& risk = outputs.at_risk ? *outputs.at_risk : none;
        const std::string risk_at = at + "/at_risk";
        GroupHandle risk_group = create_group(g, "at_risk", file_name);
        const auto total = static_cast<hsize_t>(risk.total);
        const auto count = static_cast<std::int64_t>(risk.id.size());
        const auto write_column = [&](const char* name, hid_t file_type, hid_t memory_type,
                                      const void* data) {
          write_spread_column(risk_group.get(), risk_at, name, file_type, memory_type, total,
                              risk.offset, count, data);
        };
        write_column("id", H5T_STD_I64LE, H5T_NATIVE_INT64, risk.id.data());
        write_column("previous_segment", H5T_STD_I32LE, H5T_NATIVE_INT32,
                     risk.previous_segment.data());
        write_column("new_segment", H5T_STD_I32LE, H5T_NATIVE_INT32, risk.new_segment.data());
        write_column("previous_value", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                     risk.previous_value.data());
        write_column("new_value", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, risk.new_value.data());
        write_column("value_drop", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, risk.drop.data());
      }
    }
    note(file.close(), "the end");
  }
  if (outputs.migration) {
    write_at_risk_csv(communicator, at_risk_temporary, at_risk_path, outputs.at_risk, pending,
                      error);
  }
  if (root && !error) {
    try {
      write_profiles_csv(profiles_temporary, profiles_path, summary, outputs, pending);
      write_quality_csv(quality_temporary, quality_path, summary.quality, pending);
      if (outputs.migration) {
        write_migration_csv(migration_temporary, migration_path, *outputs.migration, pending);
        write_migration_matrix_csv(matrix_temporary, matrix_path, outputs.migration->matrix,
                                   pending);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  pending.commit(error);
  if (root && !outputs.migration) {
    // A migration of an earlier run in the same directory no longer describes this output.
    std::error_code ignored;
    fs::remove(migration_path, ignored);
    fs::remove(matrix_path, ignored);
    fs::remove(at_risk_path, ignored);
  }
}

}  // namespace microseg::io
