// The CSV files of a run: profiles.csv, quality.csv, and with a previous run migration.csv,
// migration_matrix.csv and at_risk.csv, and the macro level's macro_migration.csv and
// macro_migration_matrix.csv (docs/file-format.md). These are the shared exports: a segment or
// migration cell of fewer customers than the run's PublicationRules allow is suppressed here,
// where the text is made (segments.h5 keeps every number).

#include <cctype>
#include <set>

#include "assignments_csv.hpp"
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
  static const char* const statistics[] = {"mean", "std", "p05", "p95", "lift"};
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
  out << ",suppressed\n";
}

// A suppressed segment's row: its count as "<N", the undersized flag and the reason;
// every statistic blank (as many empty fields as the header has columns after the size).
void write_suppressed_profile(std::ostream& out, const SegmentationContent& run, int s) {
  const SegmentProfiles& p = run.summary.profiles;
  const PublicationRules& rules = run.outputs.publication;
  out << ',' << rules.count_text(p.size[s]) << ',';  // share
  if (!p.weight.empty()) out << ',';
  for (int j = 0; j < 5 * p.d; ++j) out << ',';
  if (const ActionableProfiles* actionable = run.outputs.actionable) {
    out << ",," << static_cast<int>(actionable->undersized[s]);  // no description
    if (actionable->value) out << ",,,";
    out << ",,,,";
    if (actionable->rfm) out << std::string(4 + rfm_segment_count + 1, ',');
  }
  out << ',' << rules.reason();
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
    if (run.outputs.publication.hides(p.size[s])) {
      write_suppressed_profile(out, run, s);
      out << '\n';
      continue;
    }
    out << ',' << p.size[s] << ',' << round_trip_text(p.share[s]);
    if (!p.weight.empty()) out << ',' << round_trip_text(p.weight[s]);
    for (int j = 0; j < p.d; ++j) {
      const std::size_t at = static_cast<std::size_t>(s) * p.d + j;
      for (const auto* values : {&p.mean, &p.std, &p.p05, &p.p95, &p.lift}) {
        out << ',' << round_trip_text((*values)[at]);
      }
    }
    if (actionable) write_actionable_fields(out, *actionable, s);
    out << ",\n";  // not suppressed
  }
  text.close();
}

void write_macro_profiles_csv(const PendingFile& file, const PendingOutputs& pending,
                              const SegmentationContent& run, const MacroOutputs& macro) {
  RunOutputs labelled;
  labelled.identity = macro.identity;
  labelled.publication = run.outputs.publication;
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

// One row per stable id of either run: the flows of docs/file-format.md. A count below the
// rules' minimum is shown as "<N"; what is derived from a hidden count (net, retention, the
// value flows, the drift of a segment hidden in either run) is left blank.
void write_migration_csv(const PendingFile& file, const PendingOutputs& pending,
                         const MigrationReport& migration, const std::string& label,
                         const PublicationRules& rules) {
  const SegmentFlows& f = migration.flows;
  const bool valued = !f.value_inflow.empty();
  TextOutput text(pending, file);
  std::ostream& out = text.out();
  out << label
      << ",in_previous,in_new,previous_size,new_size,stayed,moved_in,new_customers,"
         "moved_out,lost_customers,inflow,outflow,net,retention";
  if (valued) out << ",value_inflow,value_outflow,value_net";
  out << ",drift,suppressed\n";
  const auto number = [](bool hidden, double value) {
    return hidden ? std::string() : round_trip_text(value);
  };
  for (std::size_t s = 0; s < f.segment_id.size(); ++s) {
    const bool sizes_hidden = rules.hides(f.previous_size[s]) || rules.hides(f.current_size[s]);
    const bool in_hidden = rules.hides(f.inflow[s]), out_hidden = rules.hides(f.outflow[s]);
    bool any_hidden = sizes_hidden || in_hidden || out_hidden;
    out << f.segment_id[s] << ',' << static_cast<int>(f.in_previous[s]) << ','
        << static_cast<int>(f.in_current[s]);
    for (const auto* counts : {&f.previous_size, &f.current_size, &f.stayed, &f.moved_in, &f.joined,
                               &f.moved_out, &f.left, &f.inflow, &f.outflow}) {
      out << ',' << rules.count_text((*counts)[s]);
      any_hidden = any_hidden || rules.hides((*counts)[s]);
    }
    out << ','
        << (sizes_hidden || in_hidden || out_hidden ? std::string() : std::to_string(f.net[s]))
        << ','
        << number(rules.hides(f.stayed[s]) || rules.hides(f.previous_size[s]), f.retention[s]);
    if (valued) {
      out << ',' << number(in_hidden, f.value_inflow[s]) << ','
          << number(out_hidden, f.value_outflow[s]) << ','
          << number(in_hidden || out_hidden, f.value_net[s]);
    }
    out << ',' << number(sizes_hidden, f.drift[s]) << ','
        << (any_hidden ? rules.reason() : std::string()) << '\n';
  }
  text.close();
}

// The counts matrix as a spreadsheet: previous segments down, new segments across, plus the
// row of new customers and the column of lost ones; a cell below the minimum shows "<N".
void write_migration_matrix_csv(const PendingFile& file, const PendingOutputs& pending,
                                const MigrationMatrix& matrix, const std::string& label,
                                const PublicationRules& rules) {
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
    for (int c = 0; c <= matrix.current_k(); ++c) {
      out << ',' << rules.count_text(matrix.counts[matrix.at(p, c)]);
    }
    out << '\n';
  }
  text.close();
}

// Each rank formats its own rows; write_text_in_rank_order places them. The segment values of a
// segment hidden in its run are left blank; with a key the id is its pseudonym.
void write_at_risk_csv(const PendingFile& file, const PendingOutputs& pending,
                       const AtRiskCustomers* risk, const MigrationReport& migration,
                       const PublicationRules& rules, std::optional<std::string>& error) {
  const SegmentFlows& f = migration.flows;
  std::set<std::int64_t> hidden_before, hidden_now;
  for (std::size_t s = 0; s < f.segment_id.size(); ++s) {
    if (rules.hides(f.previous_size[s])) hidden_before.insert(f.segment_id[s]);
    if (rules.hides(f.current_size[s])) hidden_now.insert(f.segment_id[s]);
  }
  std::string text;
  if (pending.comm().is_root()) {
    text = std::string(rules.pseudonymising() ? "pseudonym" : "id") +
           ",previous_segment,new_segment,previous_value,new_value,value_drop,suppressed\n";
  }
  for (std::size_t i = 0; risk && i < risk->id.size(); ++i) {
    const bool hidden = hidden_before.count(risk->previous_segment[i]) > 0 ||
                        hidden_now.count(risk->new_segment[i]) > 0;
    text += rules.exported_id(risk->id[i]) + ',' + std::to_string(risk->previous_segment[i]) + ',' +
            std::to_string(risk->new_segment[i]) + ',';
    if (hidden) {
      text += ",,," + rules.reason() + '\n';
      continue;
    }
    text += round_trip_text(risk->previous_value[i]) + ',' + round_trip_text(risk->new_value[i]) +
            ',' + round_trip_text(risk->drop[i]) + ",\n";
  }
  write_text_in_rank_order(file, pending, text, error);
}

}  // namespace microseg::io::detail
