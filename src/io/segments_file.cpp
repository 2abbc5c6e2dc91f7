#include "microseg/io/segments_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "feature_transform_file.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

/// What a run writes, as write_segmentation received it.
struct SegmentationContent {
  const SegmentationSummary& summary;
  const AssignmentBlock& assignments;
  const RunOutputs& outputs;
};

// The stable id of each segment row: the identity's ids, or the row numbers without one.
std::vector<std::int64_t> segment_labels(const SegmentationSummary& summary,
                                         const RunOutputs& outputs) {
  if (outputs.identity) return outputs.identity->ids;
  std::vector<std::int64_t> labels(static_cast<std::size_t>(summary.profiles.k));
  for (std::size_t s = 0; s < labels.size(); ++s) labels[s] = static_cast<std::int64_t>(s);
  return labels;
}

// ---------------------------------------------------------------------------------------------
// CSV files: written by the root, except at_risk.csv. Each throws InputError naming the file.

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

void write_profiles_header(std::ostream& out, const SegmentationSummary& summary,
                           const ActionableProfiles* actionable) {
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
}

// The columns for marketers of segment row `s`.
void write_actionable_fields(std::ostream& out, const ActionableProfiles& actionable, int s) {
  out << ',' << csv_field(actionable.description[s]) << ','
      << static_cast<int>(actionable.undersized[s]);
  if (const auto& value = actionable.value) {
    out << ',' << round_trip_text(value->total[s]) << ',' << round_trip_text(value->mean[s]) << ','
        << round_trip_text(value->share[s]);
  }
  const SegmentPriority& priority = actionable.priority;
  out << ',' << round_trip_text(priority.growth[s]) << ','
      << round_trip_text(priority.value_growth[s]) << ',' << round_trip_text(priority.priority[s])
      << ',' << priority.rank[s];
  if (const auto& rfm = actionable.rfm) {
    for (int c = 0; c < 3; ++c) {
      out << ',' << round_trip_text(rfm->score_mean[static_cast<std::size_t>(s) * 3 + c]);
    }
    out << ',' << csv_field(rfm_summary_text(*rfm, s));
    for (int code = 0; code < rfm_segment_count; ++code) {
      out << ','
          << round_trip_text(rfm->segment_share[static_cast<std::size_t>(s) * rfm_segment_count +
                                                static_cast<std::size_t>(code)]);
    }
    out << ',' << csv_field(rfm_segment_names()[dominant_rfm_segment(*rfm, s)]);
  }
}

void write_profiles_csv(const PendingFile& file, const PendingOutputs& pending,
                        const SegmentationContent& run) {
  const SegmentProfiles& p = run.summary.profiles;
  const ActionableProfiles* actionable = run.outputs.actionable;
  const std::vector<std::int64_t> labels = segment_labels(run.summary, run.outputs);
  TextOutput text(pending, file);
  std::ostream& out = text.out();
  write_profiles_header(out, run.summary, actionable);
  for (int s = 0; s < p.k; ++s) {
    out << labels[s] << ',' << p.size[s] << ',' << round_trip_text(p.share[s]);
    for (int j = 0; j < p.d; ++j) {
      const std::size_t at = static_cast<std::size_t>(s) * p.d + j;
      for (const auto* values : {&p.mean, &p.std, &p.min, &p.max, &p.lift}) {
        out << ',' << round_trip_text((*values)[at]);
      }
    }
    if (actionable) write_actionable_fields(out, *actionable, s);
    out << '\n';
  }
  text.close();
}

void write_quality_csv(const PendingFile& file, const PendingOutputs& pending,
                       const QualityReport& quality) {
  TextOutput text(pending, file);
  text.out() << "metric,value\n"
             << "inertia," << round_trip_text(quality.inertia) << '\n'
             << "calinski_harabasz," << round_trip_text(quality.calinski_harabasz) << '\n'
             << "davies_bouldin," << round_trip_text(quality.davies_bouldin) << '\n'
             << "silhouette_simplified," << round_trip_text(quality.silhouette_simplified) << '\n'
             << "silhouette_sampled," << round_trip_text(quality.silhouette_sampled) << '\n'
             << "silhouette_sample_size," << quality.silhouette_sample_size << '\n';
  text.close();
}

// One row per stable id of either run: the flows of docs/file-format.md.
void write_migration_csv(const PendingFile& file, const PendingOutputs& pending,
                         const MigrationReport& migration) {
  const SegmentFlows& f = migration.flows;
  const bool valued = !f.value_inflow.empty();
  TextOutput text(pending, file);
  std::ostream& out = text.out();
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
  text.close();
}

// The counts matrix as a spreadsheet: previous segments down, new segments across, plus the
// row of new customers and the column of lost ones.
void write_migration_matrix_csv(const PendingFile& file, const PendingOutputs& pending,
                                const MigrationMatrix& matrix) {
  TextOutput text(pending, file);
  std::ostream& out = text.out();
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
  text.close();
}

// Each rank formats its own rows, an exclusive prefix sum of the byte counts places them, and
// every rank writes its range of the file rank 0 created.
void write_at_risk_csv(const PendingFile& file, const PendingOutputs& pending,
                       const AtRiskCustomers* risk, std::optional<std::string>& error) {
  const distributed::Communicator& comm = pending.comm();
  std::string text = comm.is_root()
                         ? "id,previous_segment,new_segment,previous_value,new_value,value_drop\n"
                         : std::string();
  for (std::size_t i = 0; risk && i < risk->id.size(); ++i) {
    text += std::to_string(risk->id[i]) + ',' + std::to_string(risk->previous_segment[i]) + ',' +
            std::to_string(risk->new_segment[i]) + ',' + round_trip_text(risk->previous_value[i]) +
            ',' + round_trip_text(risk->new_value[i]) + ',' + round_trip_text(risk->drop[i]) + '\n';
  }
  const std::int64_t offset = comm.exclusive_prefix_sum(static_cast<std::int64_t>(text.size()));
  bool created = true;
  if (comm.is_root()) {
    const int descriptor = ::open(file.temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    created = descriptor >= 0;
    if (created) ::close(descriptor);
    pending.protect(file.temporary);
  }
  const std::string failure = "cannot write output file '" + file.final_path + "'";
  if (comm.any(!created)) {
    if (!error) error = failure;
    return;
  }
  const int descriptor = ::open(file.temporary.c_str(), O_WRONLY);
  bool written = descriptor >= 0;
  for (std::size_t done = 0; written && done < text.size();) {
    const ssize_t step = ::pwrite(descriptor, text.data() + done, text.size() - done,
                                  static_cast<off_t>(offset) + static_cast<off_t>(done));
    written = step > 0;
    if (written) done += static_cast<std::size_t>(step);
  }
  if (descriptor >= 0 && ::close(descriptor) != 0) written = false;
  if (!written && !error) error = failure;
}

// ---------------------------------------------------------------------------------------------
// Groups of segments.h5. Collective: every rank calls each alike; /assignments and the moves
// and at-risk tables of /migration are written by every rank for its rows, the rest by the root.

// The value feature's name, "" when the run has none.
std::string value_feature(const RunOutputs& outputs) {
  return outputs.actionable && outputs.actionable->value ? outputs.actionable->value->feature
                                                         : std::string();
}

// /profiles/rfm: how each segment scores in quintiles of recency, frequency and monetary.
void write_rfm_group(const OutputGroup& profiles, const RfmQuintileSummary& rfm, int k) {
  const OutputGroup group = profiles.create_group("rfm");
  const auto rows = static_cast<hsize_t>(k);
  group.attribute("columns",
                  std::vector<std::string>{rfm.columns[0], rfm.columns[1], rfm.columns[2]});
  group.write("score_mean", rfm.score_mean.data(), {rows, 3});
  group.write("quintile_share", rfm.quintile_share.data(), {rows, 3, 5});
  group.write("thresholds", rfm.thresholds.data(), {3, 4});
  std::vector<std::string> texts, dominant;
  for (int s = 0; s < k; ++s) {
    texts.push_back(rfm_summary_text(rfm, s));
    dominant.push_back(rfm_segment_names()[dominant_rfm_segment(rfm, s)]);
  }
  group.write_strings("summary", texts);
  group
      .write("segment_share", rfm.segment_share.data(),
             {rows, static_cast<hsize_t>(rfm_segment_count)})
      .write_attribute("segment_names", rfm_segment_names());
  group.write_strings("dominant_segment", dominant);
}

// /profiles additions for marketers: descriptions, value and priority.
void write_actionable(const OutputGroup& group, const ActionableProfiles& a, int k) {
  const auto rows = static_cast<hsize_t>(k);
  group.write_strings("description", a.description);
  group.write("undersized", a.undersized);
  group.attribute("min_segment_size", a.min_segment_size);
  group.attribute("value_feature", a.value ? a.value->feature : std::string());
  if (const auto& value = a.value) {
    group.write("value_total", value->total.data(), {rows});
    group.write("value_mean", value->mean.data(), {rows});
    group.write("value_share", value->share.data(), {rows});
  }
  group.write("growth", a.priority.growth.data(), {rows});
  group.write("value_growth", a.priority.value_growth.data(), {rows});
  group.write("priority", a.priority.priority.data(), {rows});
  group.write("priority_rank", a.priority.rank.data(), {rows});
  if (a.rfm) write_rfm_group(group, *a.rfm, k);
}

// /migration's matrices: counts (and value) from previous segments (rows) to new ones
// (columns); -1 labels the row of new customers and the column of lost ones.
void write_migration_matrix(const OutputGroup& group, const MigrationMatrix& m) {
  std::vector<std::int64_t> row_labels(m.previous_ids), column_labels(m.current_ids);
  row_labels.push_back(-1);
  column_labels.push_back(-1);
  const std::vector<hsize_t> dims{row_labels.size(), column_labels.size()};
  const auto label = [&](const Dataset& dataset) {
    dataset.write_attribute("prev_segment_ids", row_labels);
    dataset.write_attribute("new_segment_ids", column_labels);
  };
  label(group.write("counts", m.counts.data(), dims));
  if (!m.value.empty()) label(group.write("value", m.value.data(), dims));
}

// /migration/segments: the flows of each stable id of either run.
void write_flows_group(const OutputGroup& migration, const SegmentFlows& f) {
  const OutputGroup group = migration.create_group("segments");
  const std::vector<hsize_t> u{f.segment_id.size()};
  group.write("segment_id", f.segment_id.data(), u);
  group.write("in_previous", f.in_previous);
  group.write("in_new", f.in_current);
  group.write("previous_size", f.previous_size.data(), u);
  group.write("new_size", f.current_size.data(), u);
  group.write("stayed", f.stayed.data(), u);
  group.write("moved_in", f.moved_in.data(), u);
  group.write("new_customers", f.joined.data(), u);
  group.write("moved_out", f.moved_out.data(), u);
  group.write("lost_customers", f.left.data(), u);
  group.write("inflow", f.inflow.data(), u);
  group.write("outflow", f.outflow.data(), u);
  group.write("net", f.net.data(), u);
  group.write("retention", f.retention.data(), u);
  if (!f.value_inflow.empty()) {
    group.write("value_inflow", f.value_inflow.data(), u);
    group.write("value_outflow", f.value_outflow.data(), u);
    group.write("value_net", f.value_net.data(), u);
  }
  group.write("drift", f.drift.data(), u);
}

// /migration/moves: every customer whose stable segment changed, each rank its own.
void write_moves_group(const OutputGroup& migration, const CustomerMoves& moves) {
  const OutputGroup group = migration.create_group("moves");
  const RowBlock rows{moves.offset, static_cast<std::int64_t>(moves.id.size()),
                      static_cast<hsize_t>(moves.total)};
  group.write_rows("id", rows, moves.id.data());
  group.write_rows("previous_segment", rows, moves.previous_segment.data());
  group.write_rows("new_segment", rows, moves.new_segment.data());
  group.write_rows("previous_distance", rows, moves.previous_distance.data());
  group.write_rows("new_distance", rows, moves.new_distance.data());
  group.write_rows("at_risk", rows, moves.at_risk.data());
}

// /migration/at_risk: the moves to a segment of lower value, each rank its own.
void write_at_risk_group(const OutputGroup& migration, const AtRiskCustomers& risk) {
  const OutputGroup group = migration.create_group("at_risk");
  const RowBlock rows{risk.offset, static_cast<std::int64_t>(risk.id.size()),
                      static_cast<hsize_t>(risk.total)};
  group.write_rows("id", rows, risk.id.data());
  group.write_rows("previous_segment", rows, risk.previous_segment.data());
  group.write_rows("new_segment", rows, risk.new_segment.data());
  group.write_rows("previous_value", rows, risk.previous_value.data());
  group.write_rows("new_value", rows, risk.new_value.data());
  group.write_rows("value_drop", rows, risk.drop.data());
}

void write_assignments_group(const OutputGroup& root, const SegmentationContent& run) {
  const AssignmentBlock& a = run.assignments;
  const OutputGroup group = root.create_group("assignments");
  const RowBlock rows{a.rows.begin, a.rows.size(), static_cast<hsize_t>(a.total_rows)};
  group.write_rows("id", rows, a.ids->data());
  group.write_rows("segment", rows, a.segments->data());
  group.write_rows("distance", rows, a.distances->data());
  if (run.outputs.values) group.write_rows("value", rows, run.outputs.values->data());
}

void write_centroids_group(const OutputGroup& root, const SegmentationSummary& summary) {
  const OutputGroup group = root.create_group("centroids");
  const std::vector<hsize_t> dims{static_cast<hsize_t>(summary.centroids_scaled.rows()),
                                  summary.feature_names.size()};
  group.write("scaled", summary.centroids_scaled.data(), dims)
      .write_attribute("feature_names", summary.feature_names);
  group.write("original", summary.centroids_original.data(), dims)
      .write_attribute("feature_names", summary.feature_names);
}

void write_profiles_group(const OutputGroup& root, const SegmentationContent& run) {
  const SegmentProfiles& p = run.summary.profiles;
  const auto k = static_cast<hsize_t>(run.summary.centroids_scaled.rows());
  const auto d = static_cast<hsize_t>(run.summary.feature_names.size());
  const OutputGroup group = root.create_group("profiles");
  group.attribute("feature_names", run.summary.feature_names);
  group.write("size", p.size.data(), {k});
  group.write("share", p.share.data(), {k});
  group.write("mean", p.mean.data(), {k, d});
  group.write("std", p.std.data(), {k, d});
  group.write("min", p.min.data(), {k, d});
  group.write("max", p.max.data(), {k, d});
  group.write("lift", p.lift.data(), {k, d});
  group.write("population_mean", p.population_mean.data(), {d});
  group.write("population_std", p.population_std.data(), {d});
  if (run.outputs.identity) {
    group.write("segment_id", segment_labels(run.summary, run.outputs).data(), {k});
  }
  if (run.outputs.actionable) write_actionable(group, *run.outputs.actionable, p.k);
}

void write_quality_group(const OutputGroup& root, const QualityReport& q) {
  const OutputGroup group = root.create_group("quality");
  group.attribute("inertia", q.inertia);
  group.attribute("calinski_harabasz", q.calinski_harabasz);
  group.attribute("davies_bouldin", q.davies_bouldin);
  group.attribute("silhouette_simplified", q.silhouette_simplified);
  group.attribute("silhouette_sampled", q.silhouette_sampled);
  group.attribute("silhouette_sample_size", q.silhouette_sample_size);
}

void write_model_group(const OutputGroup& root, const SegmentationContent& run) {
  const SegmentIdentity& identity = *run.outputs.identity;
  const ScalingModel& scaling = *run.outputs.scaling;
  const std::vector<std::string>& names = run.summary.feature_names;
  const OutputGroup group = root.create_group("model");
  group.attribute("feature_names", names);
  group.attribute("next_segment_id", identity.next_id);
  group.attribute("value_feature", value_feature(run.outputs));
  group.write("segment_ids", segment_labels(run.summary, run.outputs).data(),
              {static_cast<hsize_t>(run.summary.centroids_scaled.rows())});
  group.write("retired_segment_ids", identity.retired_ids);
  const OutputGroup scaling_group = group.create_group("scaling");
  const auto d = static_cast<hsize_t>(names.size());
  scaling_group.attribute("kind", to_string(scaling.kind));
  scaling_group.attribute("feature_names", names);
  const std::vector<std::int8_t> log1p(scaling.log1p.begin(), scaling.log1p.end());
  scaling_group.write("log1p", log1p.data(), {d});
  scaling_group.write("offset", scaling.offset.data(), {d});
  scaling_group.write("scale", scaling.scale.data(), {d});
  if (run.outputs.transform) write_feature_transform(group, *run.outputs.transform);
}

void write_migration_group(const OutputGroup& root, const RunOutputs& outputs) {
  const MigrationReport& migration = *outputs.migration;
  const MigrationStability& st = migration.stability;
  const OutputGroup group = root.create_group("migration");
  group.attribute("previous_run", outputs.previous_run);
  group.attribute("value_feature", value_feature(outputs));
  group.attribute("adjusted_rand_index", st.adjusted_rand_index);
  group.attribute("adjusted_mutual_information", st.adjusted_mutual_information);
  group.attribute("share_stayed", st.share_stayed);
  group.attribute("common_customers", st.common);
  group.attribute("new_customers", st.joined);
  group.attribute("lost_customers", st.left);
  group.attribute("stayed_customers", st.stayed);
  group.attribute("moved_customers", st.moved);
  group.attribute("at_risk_customers", st.at_risk);
  if (outputs.match) group.attribute("match_max_distance", outputs.match->max_distance);
  write_migration_matrix(group, migration.matrix);
  const SegmentMatch none;
  const SegmentMatch& match = outputs.match ? *outputs.match : none;
  group.write("fresh_segment_ids", match.fresh_ids);
  group.write("retired_segment_ids", match.retired_now);
  write_flows_group(group, migration.flows);
  write_moves_group(group, *outputs.moves);
  const AtRiskCustomers no_risk;
  write_at_risk_group(group, outputs.at_risk ? *outputs.at_risk : no_risk);
}

// ---------------------------------------------------------------------------------------------
// Checks and the whole output

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

// Every check before the first collective of the writing, so every rank fails alike.
std::optional<std::string> segmentation_problem(const distributed::Communicator& comm,
                                                const SegmentationContent& run,
                                                const std::string& segments_path) {
  const RunOutputs& outputs = run.outputs;
  std::optional<std::string> problem = summary_problem(run.summary);
  if (!problem) problem = assignment_problem(run.assignments);
  if (!problem) problem = outputs_problem(run.summary, outputs, run.assignments);
  const std::int64_t written_rows = comm.sum(run.assignments.rows.size());
  if (!problem && written_rows != run.assignments.total_rows) {
    problem = "assignments: the ranks' blocks hold " + std::to_string(written_rows) +
              " rows, expected " + std::to_string(run.assignments.total_rows);
  }
  // Optional per-rank parts must be there on every rank, since their datasets are collective.
  const auto on_some_ranks_only = [&](bool here) {
    const std::int64_t ranks = comm.sum(std::int64_t{here});
    return ranks != 0 && ranks != comm.size();
  };
  const bool values_partial = on_some_ranks_only(outputs.values != nullptr);
  const bool moves_partial = on_some_ranks_only(outputs.moves != nullptr);
  const bool at_risk_partial = on_some_ranks_only(outputs.at_risk != nullptr);
  if (!problem && (values_partial || moves_partial || at_risk_partial)) {
    problem = std::string("run outputs: values and moves must be given on every rank or none");
  }
  if (!problem) problem = output_location_problem(segments_path);
  return problem;
}

// The files of a run, registered in the order they go into place: segments.h5 last, so its
// presence means the whole output is there.
struct SegmentationFiles {
  PendingFile profiles, quality, migration, matrix, at_risk, segments;
};

SegmentationFiles add_files(PendingOutputs& pending, const std::string& directory,
                            bool with_migration) {
  const fs::path dir(directory);
  const auto add = [&](const char* name, bool wanted) {
    const std::string final_path = (dir / name).string();
    return PendingFile{final_path, wanted ? pending.add(final_path) : std::string()};
  };
  SegmentationFiles files;
  files.profiles = add("profiles.csv", true);
  files.quality = add("quality.csv", true);
  files.migration = add("migration.csv", with_migration);
  files.matrix = add("migration_matrix.csv", with_migration);
  files.at_risk = add("at_risk.csv", with_migration);
  files.segments = add("segments.h5", true);
  return files;
}

// segments.h5, collectively; the first failure of a raw-data write, if any.
std::optional<std::string> write_segments_file(const PendingOutputs& pending,
                                               const PendingFile& target,
                                               const SegmentationContent& run) {
  OutputFile file(pending, target.temporary, target.final_path);
  {
    const OutputGroup root = file.root();
    write_assignments_group(root, run);
    write_centroids_group(root, run.summary);
    write_profiles_group(root, run);
    write_quality_group(root, run.summary.quality);
    root.create_group("run").attributes(run.summary.run);
    if (run.outputs.scaling && run.outputs.identity) write_model_group(root, run);
    if (run.outputs.migration) write_migration_group(root, run.outputs);
  }
  return file.finish();
}

// The CSV files the root writes alone; the first failure, if any.
std::optional<std::string> write_root_csv_files(const SegmentationFiles& files,
                                                const PendingOutputs& pending,
                                                const SegmentationContent& run) {
  try {
    write_profiles_csv(files.profiles, pending, run);
    write_quality_csv(files.quality, pending, run.summary.quality);
    if (const MigrationReport* migration = run.outputs.migration) {
      write_migration_csv(files.migration, pending, *migration);
      write_migration_matrix_csv(files.matrix, pending, migration->matrix);
    }
  } catch (const std::exception& e) {
    return std::string(e.what());
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
  const SegmentationContent run{summary, assignments, outputs};
  const std::string segments_path = (fs::path(directory) / "segments.h5").string();
  communicator.agree(segmentation_problem(communicator, run, segments_path));

  PendingOutputs pending(communicator);
  const SegmentationFiles files = add_files(pending, directory, outputs.migration != nullptr);

  std::optional<std::string> error = write_segments_file(pending, files.segments, run);
  if (outputs.migration) write_at_risk_csv(files.at_risk, pending, outputs.at_risk, error);
  const bool root = communicator.is_root();
  if (root && !error) error = write_root_csv_files(files, pending, run);
  pending.commit(error);
  if (root && !outputs.migration) {
    // A migration of an earlier run in the same directory no longer describes this output.
    std::error_code ignored;
    fs::remove(files.migration.final_path, ignored);
    fs::remove(files.matrix.final_path, ignored);
    fs::remove(files.at_risk.final_path, ignored);
  }
}

}  // namespace microseg::io
