// The groups of segments.h5 (docs/file-format.md), one writer each. Every rank makes the same
// metadata calls; small datasets come from the root, per-customer ones from every rank's rows.
#include "assignments_csv.hpp"
#include "feature_transform_file.hpp"
#include "microseg/core/rfm.hpp"
#include "segments_parts.hpp"

namespace microseg::io::detail {
namespace {

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
// `prefix` names the macro level's ("macro_": macro_counts, macro_value).
void write_migration_matrix(const OutputGroup& group, const MigrationMatrix& m,
                            const std::string& prefix) {
  std::vector<std::int64_t> row_labels(m.previous_ids), column_labels(m.current_ids);
  row_labels.push_back(-1);
  column_labels.push_back(-1);
  const std::vector<hsize_t> dims{row_labels.size(), column_labels.size()};
  const auto label = [&](const Dataset& dataset) {
    dataset.write_attribute("prev_segment_ids", row_labels);
    dataset.write_attribute("new_segment_ids", column_labels);
  };
  label(group.write(prefix + "counts", m.counts.data(), dims));
  if (!m.value.empty()) label(group.write(prefix + "value", m.value.data(), dims));
}

// /migration/segments (or the macro level's /migration/macro_segments): the flows of each
// stable id of either run.
void write_flows_group(const OutputGroup& migration, const SegmentFlows& f,
                       const std::string& name) {
  const OutputGroup group = migration.create_group(name);
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

// /migration/moves: every customer whose stable segment changed, each rank its own; with
// `macro`, each move's macro segments and whether it crossed them.
void write_moves_group(const OutputGroup& migration, const CustomerMoves& moves, bool macro) {
  const OutputGroup group = migration.create_group("moves");
  const RowBlock rows{moves.offset, static_cast<std::int64_t>(moves.id.size()),
                      static_cast<hsize_t>(moves.total)};
  group.write_rows("id", rows, moves.id.data());
  group.write_rows("previous_segment", rows, moves.previous_segment.data());
  group.write_rows("new_segment", rows, moves.new_segment.data());
  group.write_rows("previous_distance", rows, moves.previous_distance.data());
  group.write_rows("new_distance", rows, moves.new_distance.data());
  group.write_rows("at_risk", rows, moves.at_risk.data());
  if (!macro) return;
  group.write_rows("previous_macro_segment", rows, moves.previous_macro_segment.data());
  group.write_rows("new_macro_segment", rows, moves.new_macro_segment.data());
  group.write_rows("across_macro", rows, moves.across_macro.data());
}

// The macro level of a migration between two two-level runs: its stability as /migration
// attributes (macro_*), its matrices, flows and ids beside the micro level's.
void write_macro_migration(const OutputGroup& group, const MigrationReport& micro,
                           const MacroOutputs& macro) {
  const MigrationStability& st = macro.migration->stability;
  group.attribute("macro_adjusted_rand_index", st.adjusted_rand_index);
  group.attribute("macro_adjusted_mutual_information", st.adjusted_mutual_information);
  group.attribute("macro_share_stayed", st.share_stayed);
  group.attribute("macro_stayed_customers", st.stayed);
  group.attribute("macro_moved_customers", st.moved);
  group.attribute("moved_within_macro_customers", micro.stability.moved_within_macro);
  group.attribute("moved_across_macro_customers", micro.stability.moved_across_macro);
  group.attribute("macro_match_max_distance", macro.match->max_distance);
  write_migration_matrix(group, macro.migration->matrix, "macro_");
  group.write("macro_fresh_segment_ids", macro.match->fresh_ids);
  group.write("macro_retired_segment_ids", macro.match->retired_now);
  write_flows_group(group, macro.migration->flows, "macro_segments");
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

// /model's macro level: the macro centroids and ids `assign` and `--previous` continue from,
// and the macro segment of each micro-segment row.
void write_macro_model(const OutputGroup& model, const MacroOutputs& macro) {
  const SegmentationSummary& summary = *macro.summary;
  model.write("macro_of_segment", macro.macro_of_segment->data(), {macro.macro_of_segment->size()});
  const OutputGroup group = model.create_group("macro");
  group.attribute("next_segment_id", macro.identity->next_id);
  group.write("segment_ids", macro.identity->ids.data(), {macro.identity->ids.size()});
  group.write("retired_segment_ids", macro.identity->retired_ids);
  group
      .write("centroids", summary.centroids_scaled.data(),
             {static_cast<hsize_t>(summary.centroids_scaled.rows()), summary.feature_names.size()})
      .write_attribute("feature_names", summary.feature_names);
}

}  // namespace

std::vector<std::int64_t> segment_labels(const SegmentationSummary& summary,
                                         const RunOutputs& outputs) {
  if (outputs.identity) return outputs.identity->ids;
  std::vector<std::int64_t> labels(static_cast<std::size_t>(summary.profiles.k));
  for (std::size_t s = 0; s < labels.size(); ++s) labels[s] = static_cast<std::int64_t>(s);
  return labels;
}

void write_assignments_group(const OutputGroup& root, const SegmentationContent& run) {
  const AssignmentBlock& a = run.assignments;
  const OutputGroup group = root.create_group("assignments");
  const RowBlock rows{a.rows.begin, a.rows.size(), static_cast<hsize_t>(a.total_rows)};
  group.write_rows("id", rows, a.ids->data());
  group.write_rows("segment", rows, a.segments->data());
  group.write_rows("distance", rows, a.distances->data());
  if (run.outputs.external_ids) write_external_ids(group, rows, *run.outputs.external_ids);
  if (run.outputs.values) group.write_rows("value", rows, run.outputs.values->data());
  if (const MacroOutputs* macro = run.outputs.macro) {
    group.write_rows("macro_segment", rows, macro->labels->data());
  }
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
  group.write("p05", p.p05.data(), {k, d});
  group.write("p95", p.p95.data(), {k, d});
  group.write("lift", p.lift.data(), {k, d});
  group.write("population_mean", p.population_mean.data(), {d});
  group.write("population_std", p.population_std.data(), {d});
  if (!p.weight.empty()) {  // --sample-weight runs only: other runs' files stay as they were
    group.write("weight", p.weight.data(), {k});
    group.attribute("total_weight", p.total_weight);
  }
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
  if (const MacroOutputs* macro = run.outputs.macro) write_macro_model(group, *macro);
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
  write_migration_matrix(group, migration.matrix, "");
  const SegmentMatch none;
  const SegmentMatch& match = outputs.match ? *outputs.match : none;
  group.write("fresh_segment_ids", match.fresh_ids);
  group.write("retired_segment_ids", match.retired_now);
  write_flows_group(group, migration.flows, "segments");
  const bool macro = outputs.macro && outputs.macro->migration;
  write_moves_group(group, *outputs.moves, macro);
  if (macro) write_macro_migration(group, migration, *outputs.macro);
  const AtRiskCustomers no_risk;
  write_at_risk_group(group, outputs.at_risk ? *outputs.at_risk : no_risk);
}

void write_macro_group(const OutputGroup& root, const SegmentationContent& run) {
  const MacroOutputs& macro = *run.outputs.macro;
  const OutputGroup group = root.create_group("macro");
  RunOutputs labelled;
  labelled.identity = macro.identity;
  const SegmentationContent content{*macro.summary, run.assignments, labelled};
  write_centroids_group(group, *macro.summary);
  write_profiles_group(group, content);
  write_quality_group(group, macro.summary->quality);
}

void write_tree_group(const OutputGroup& root, const SegmentationContent& run) {
  const SplitTree& tree = *run.outputs.tree;
  const auto nodes = static_cast<hsize_t>(tree.nodes());
  const auto splits = static_cast<hsize_t>(tree.split_node.size());
  const auto d = static_cast<hsize_t>(tree.d);
  const OutputGroup group = root.create_group("tree");
  group.attribute("strategy", to_string(tree.strategy));
  group.attribute("feature_names", run.summary.feature_names);
  group.write("parent", tree.parent);
  group.write("children", tree.children.data(), {nodes, 2});
  group.write("size", tree.size);
  group.write("inertia", tree.inertia);
  group.write("center", tree.center.data(), {nodes, d});
  if (const ScalingModel* scaling = run.outputs.scaling) {
    const CentroidMatrix scaled =
        Eigen::Map<const CentroidMatrix>(tree.center.data(), tree.nodes(), tree.d);
    group.write("center_original", centroids_in_original_units(scaled, *scaling).data(),
                {nodes, d});
  }
  // The leaf's segment row, and its stable id (that row of /model/segment_ids).
  const std::vector<std::int64_t> labels = segment_labels(run.summary, run.outputs);
  std::vector<std::int64_t> segment_id(tree.segment.size(), -1);
  for (std::size_t node = 0; node < segment_id.size(); ++node) {
    if (tree.segment[node] >= 0) segment_id[node] = labels[tree.segment[node]];
  }
  group.write("segment", tree.segment);
  group.write("segment_id", segment_id);
  group.write("split_node", tree.split_node);
  group.write("split_iterations", tree.split_iterations);
  group.write("split_initial_centers", tree.initial_centers.data(), {splits, 2, d});
}

}  // namespace microseg::io::detail
