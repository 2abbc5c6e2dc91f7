// The stages of `segment` that make segments actionable: descriptions, value, the RFM summary,
// and the comparison with the previous run (stable ids, migration, priorities).
#include "microseg/core/segment_matching.hpp"
#include "microseg/distributed/fault_injection.hpp"
#include "microseg/distributed/migration.hpp"
#include "microseg/distributed/segment_value.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {
namespace {

// The migration of the customers joined by id with the previous run's assignments.
distributed::MigrationResult migration_from_previous(const distributed::Communicator& comm,
                                                     const CompareStage& stage,
                                                     const Comparison& comparison,
                                                     const ActionableProfiles& actionable) {
  const io::RunModel& previous = *stage.inputs.previous;
  return distributed::compare_with_previous(
      comm, current_customers(stage, comparison.stable_segments), previous_records(comm, previous),
      migration_segments(previous, comparison.match, actionable.value));
}

// A one-level run's ids and migration.
Comparison compare_one_level(const distributed::Communicator& comm, const CompareStage& stage,
                             const ActionableProfiles& actionable) {
  Comparison comparison;
  const CentroidMatrix& centroids = stage.measured.summary.centroids_scaled;
  const auto& previous = stage.inputs.previous;
  if (previous) {
    comparison.match = stable_ids_of(
        comm, stage,
        {centroids, previous->centroids, previous->identity, previous->customer_spread});
  } else {
    const auto k = static_cast<int>(centroids.rows());
    comparison.match.identity = SegmentIdentity::first_run(k);
    comparison.match.previous_row.assign(k, -1);
  }
  const std::vector<std::int32_t>& labels = stage.measured.assignment.segments;
  comparison.stable_segments.resize(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    comparison.stable_segments[i] =
        static_cast<std::int32_t>(comparison.match.identity.ids[labels[i]]);
  }
  if (previous) {
    comparison.migration = migration_from_previous(comm, stage, comparison, actionable);
  }
  return comparison;
}

}  // namespace

distributed::MigrationSegments migration_segments(const io::RunModel& previous,
                                                  const SegmentMatch& match,
                                                  const std::optional<SegmentValue>& value) {
  distributed::MigrationSegments segments;
  segments.previous_ids = previous.identity.ids;
  segments.current_ids = match.identity.ids;
  segments.drift = match.drift;
  if (value) {
    // Values of the previous run only compare with this run's when they measure the same thing.
    const bool same_value = previous.value_feature == value->feature;
    segments.current_value_mean = value->mean;
    segments.previous_reference_value = previous_segment_reference_values(
        previous.identity.ids, same_value ? previous.value_mean : std::vector<double>{},
        match.identity.ids, value->mean);
    segments.previous_values_recorded = same_value && previous.assignments_have_value;
  }
  return segments;
}

SegmentMatch stable_ids_of(const distributed::Communicator& comm, const CompareStage& stage,
                           const CentroidMatching& matching, const MatchGroups* groups) {
  const io::RunModel& previous = *stage.inputs.previous;
  SegmentMatch match;
  comm.run_agreed([&] {
    const CentroidMatrix rescaled =
        rescale_centroids(matching.centroids, stage.prepared.transform.model, previous.scaling,
                          stage.inputs.input.feature_names);
    const double cutoff = stage.plan.match_cutoff.distance_for(matching.previous_spread);
    match = groups ? match_segments_in_groups(matching.previous_centroids, matching.previous_ids,
                                              rescaled, *groups, cutoff)
                   : match_segments(matching.previous_centroids, matching.previous_ids, rescaled,
                                    cutoff);
  });
  return match;
}

std::vector<distributed::PreviousAssignment> previous_records(const distributed::Communicator& comm,
                                                              const io::RunModel& previous) {
  std::vector<distributed::PreviousAssignment> records;
  comm.run_agreed([&] {
    records = io::read_run_assignments(
        previous, distributed::block_of_rows(previous.customers, comm.rank(), comm.size()),
        comm.native());
  });
  return records;
}

distributed::CurrentCustomers current_customers(const CompareStage& stage,
                                                const std::vector<std::int32_t>& stable_segments) {
  const MarketingColumns& marketing = stage.marketing;
  return distributed::CurrentCustomers{
      stage.prepared.rows.rows(), &stage.prepared.rows.ids(), &stable_segments,
      &stage.measured.assignment.distances,
      marketing.value_feature.empty() ? nullptr : &marketing.value};
}

ActionableProfiles actionable_profiles(const distributed::Communicator& comm,
                                       const MeasuredRun& measured,
                                       const MarketingColumns& marketing,
                                       std::int64_t min_segment_size,
                                       const std::vector<float>* weights) {
  const SegmentationSummary& summary = measured.summary;
  const std::vector<std::int32_t>& labels = measured.assignment.segments;
  const int k = summary.profiles.k;
  ActionableProfiles actionable;
  actionable.description = describe_segments(summary.profiles, summary.feature_names);
  if (!marketing.value_feature.empty()) {
    actionable.value = distributed::value_by_segment(comm, marketing.value_feature, marketing.value,
                                                     labels, k, weights);
  }
  if (marketing.rfm) {
    actionable.rfm = distributed::rfm_quintile_summary(
        comm, *marketing.rfm, {&marketing.recency, &marketing.frequency, &marketing.monetary},
        labels, k);
    for (int s = 0; s < k; ++s) {
      actionable.description[s] += "; " + rfm_dominant_text(*actionable.rfm, s);
    }
  }
  actionable.min_segment_size = min_segment_size;
  for (std::int64_t size : summary.profiles.size) {
    actionable.undersized.push_back(size < min_segment_size);
  }
  return actionable;
}

Comparison compare_with_previous_run(const distributed::Communicator& comm,
                                     const CompareStage& stage, ActionableProfiles& actionable) {
  if (stage.inputs.previous) distributed::enter_phase(comm, "migration");
  Comparison comparison = stage.two_level ? compare_two_levels(comm, stage, actionable)
                                          : compare_one_level(comm, stage, actionable);
  const auto& previous = stage.inputs.previous;
  const bool same_value =
      previous && actionable.value && previous->value_feature == stage.marketing.value_feature;
  const SegmentHistory history =
      previous ? segment_history(comparison.match.previous_row, previous->sizes,
                                 same_value ? previous->value_total : std::vector<double>{})
               : SegmentHistory{};
  actionable.priority = prioritise_segments(
      comparison.match.identity.ids, stage.measured.summary.profiles.size,
      actionable.value ? &*actionable.value : nullptr, previous ? &history : nullptr);
  return comparison;
}

}  // namespace microseg::pipeline::detail
