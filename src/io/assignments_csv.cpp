#include "assignments_csv.hpp"

#include <fcntl.h>
#include <unistd.h>

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

std::string header(const AssignmentColumns& c) {
  std::string text = "id";
  if (c.external_ids) text += ",external_id";
  text += ",segment";
  if (c.macro_segments) text += ",macro_segment";
  text += ",distance";
  if (c.margins) text += ",margin";
  return text + '\n';
}

}  // namespace

void write_text_at_rank_offsets(const PendingFile& file, const PendingOutputs& pending,
                                const std::string& text, std::optional<std::string>& error) {
  const distributed::Communicator& comm = pending.comm();
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
  for (std::size_t i = 0; i < rows; ++i) {
    text += std::to_string((*c.ids)[i]);
    if (c.external_ids) {
      text += ',';
      append_field(text, c.external_ids->values[i]);
    }
    text += ',' + std::to_string((*c.segments)[i]);
    if (c.macro_segments) text += ',' + std::to_string((*c.macro_segments)[i]);
    text += ',' + round_trip_text((*c.distances)[i]);
    if (c.margins) text += ',' + round_trip_text((*c.margins)[i]);
    text += '\n';
  }
  write_text_at_rank_offsets(file, pending, text, error);
}

}  // namespace microseg::io::detail
