// The CSV files of a run: profiles.csv, quality.csv, and with a previous run migration.csv,
// migration_matrix.csv and at_risk.csv, and the macro level's macro_migration.csv and
// macro_migration_matrix.csv (docs/file-format.md).

#include <cctype>

#include "microseg/core/number_text.hpp"
#include "microseg/core/rfm.hpp"
#include "segments_parts.hpp"

namespace microseg::io::detail {
namespace {

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
                           const RunOutputs& outputs) {
  const ActionableProfiles* actionable = outputs.actionable;
  out << (outputs.macro ? "segment,macro_segment,size,share" : "segment,size,share");
  if (!summary.profiles.weight.empty()) out << ",weight";
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

}  // namespace

void write_profiles_csv(const PendingFile& file, const PendingOutputs& pending,
                        const SegmentationContent& run) {
  const SegmentProfiles& p = run.summary.profiles;
  const ActionableProfiles* actionable = run.outputs.actionable;
  const MacroOutputs* macro = run.outputs.macro;
  const std::vector<std::int64_t> labels = segment_labels(run.summary, run.outputs);
  TextOutput text(pending, file);
  std::ostream& out = text.out();
  write_profiles_header(out, run.summary, run.outputs);
  for (int s = 0; s < p.k; ++s) {
    out << labels[s];
    if (macro) out << ',' << (*macro->macro_of_segment)[s];
    out << ',' << p.size[s] << ',' << round_trip_text(p.share[s]);
    if (!p.weight.empty()) out << ',' << round_trip_text(p.weight[s]);
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

void write_macro_profiles_csv(const PendingFile& file, const PendingOutputs& pending,
                              const SegmentationContent& run, const MacroOutputs& macro) {
  RunOutputs labelled;
  labelled.identity = macro.identity;
  write_profiles_csv(file, pending, {*macro.summary, run.assignments, labelled});
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
                         const MigrationReport& migration, const std::string& label) {
  const SegmentFlows& f = migration.flows;
  const bool valued = !f.value_inflow.empty();
  TextOutput text(pending, file);
  std::ostream& out = text.out();
  out << label
      << ",in_previous,in_new,previous_size,new_size,stayed,moved_in,new_customers,"
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
                                const MigrationMatrix& matrix, const std::string& label) {
  TextOutput text(pending, file);
  std::ostream& out = text.out();
  out << "previous_" << label;
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

// Each rank formats its own rows; write_text_in_rank_order places them.
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
  write_text_in_rank_order(file, pending, text, error);
}

}  // namespace microseg::io::detail
