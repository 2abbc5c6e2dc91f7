#include "assignments_csv.hpp"

#include "microseg/core/number_text.hpp"

namespace microseg::io::detail {
namespace {

// RFC 4180: a key with a comma, quote or line break is quoted, inner quotes doubled.
void append_field(std::string& text, const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    text += field;
    return;
  }
  text += '"';
  for (char c : field) {
    if (c == '"') text += '"';
    text += c;
  }
  text += '"';
}

bool pseudonymising(const AssignmentColumns& c) {
  return c.publication && c.publication->pseudonymising();
}

std::string header(const AssignmentColumns& c) {
  std::string text = pseudonymising(c) ? "pseudonym" : "id";
  if (c.external_ids && !pseudonymising(c)) text += ",external_id";
  text += ",segment";
  if (c.macro_segments) text += ",macro_segment";
  text += ",distance";
  if (c.margins) text += ",margin";
  return text + '\n';
}

}  // namespace

void write_external_ids(const OutputGroup& group, const RowBlock& rows, const ExternalIds& ids) {
  const Datatype type = Datatype::fixed_utf8(ids.width);
  const std::vector<char> packed = pack_fixed(ids.values, type.size());
  group.write_rows("external_id", rows, {type.id(), type.id()}, packed.data())
      .write_attribute("description", "the input's /customers/external_id, row by row with id");
}

void write_assignments_csv(const PendingFile& file, const PendingOutputs& pending,
                           const AssignmentColumns& c, std::optional<std::string>& error) {
  std::string text = pending.comm().is_root() ? header(c) : std::string();
  const std::size_t rows = c.ids->size();
  text.reserve(text.size() + rows * 40);
  const bool hashed = pseudonymising(c);
  for (std::size_t i = 0; i < rows; ++i) {
    // The pseudonym replaces both keys: an external id would name the customer as well.
    text += hashed ? c.publication->exported_id((*c.ids)[i]) : std::to_string((*c.ids)[i]);
    if (c.external_ids && !hashed) {
      text += ',';
      append_field(text, c.external_ids->values[i]);
    }
    text += ',' + std::to_string((*c.segments)[i]);
    if (c.macro_segments) text += ',' + std::to_string((*c.macro_segments)[i]);
    text += ',' + round_trip_text((*c.distances)[i]);
    if (c.margins) text += ',' + round_trip_text((*c.margins)[i]);
    text += '\n';
  }
  write_text_in_rank_order(file, pending, text, error);
}

}  // namespace microseg::io::detail
