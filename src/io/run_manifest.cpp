#include "microseg/io/run_manifest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "microseg/core/sha256.hpp"
#include "microseg/core/types.hpp"
#include "microseg/io/output_digest.hpp"

namespace microseg::io {
namespace {
namespace fs = std::filesystem;

using Json = nlohmann::ordered_json;  // keys in the order written, as docs/file-format.md lists

Json json_object(const TextFields& fields) {
  Json object = Json::object();
  for (const auto& [key, value] : fields) object[key] = value;
  return object;
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

std::string sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read output file '" + path + "' to hash it for the manifest");
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw InputError("cannot read output file '" + path + "' to hash it");
  return Sha256::hex(hash.digest());
}

namespace {

// The "outputs" list: each file's name relative to `directory`, its size and its SHA-256.
Json outputs_json(const std::string& directory, const std::vector<std::string>& outputs) {
  Json list = Json::array();
  for (const auto& output : outputs) {
    const fs::path path(output);
    std::error_code code;
    const auto bytes = fs::file_size(path, code);
    if (code) {
      throw InputError("cannot list output file '" + path.string() +
                       "' in the manifest: " + code.message());
    }
    // Names relative to the manifest, so a directory that moves stays checkable.
    const std::string name = fs::relative(path, directory, code).generic_string();
    list.push_back({{"file", code || name.empty() ? path.generic_string() : name},
                    {"bytes", static_cast<std::uint64_t>(bytes)},
                    {"sha256", sha256_of_file(path.string())},
                    {"content_sha256", output_digest(path.string()).content_sha256}});
  }
  return list;
}

std::string manifest_json(const std::string& directory, const RunManifest& manifest) {
  std::error_code code;
  const fs::path input = fs::absolute(manifest.input, code).lexically_normal();
  Json json;
  json["format"] = "microseg-manifest";
  json["format_version"] = manifest_format_version;
  json["command"] = manifest.command;
  json["created_utc"] = utc_now();
  json["outputs"] = outputs_json(directory, manifest.outputs);
  // A command that reads no customer table (generate) has no input.
  if (manifest.input.empty()) {
    json["input"] = nullptr;
  } else {
    json["input"] = {{"path", code ? manifest.input : input.string()},
                     {"fingerprint", json_object(manifest.input_fingerprint)}};
  }
  json["configuration"] = json_object(manifest.configuration);
  json["options"] = json_object(manifest.options);
  Json references = Json::array();
  for (const ManifestReference& reference : manifest.references) {
    const fs::path path = fs::absolute(reference.path, code).lexically_normal();
    references.push_back({{"role", reference.role},
                          {"path", path.string()},
                          {"content_sha256", output_digest(reference.path).content_sha256}});
  }
  json["references"] = references;
  json["ranks"] = manifest.ranks;
  json["threads_per_rank"] = manifest.threads;
  json["versions"] = json_object(manifest.versions);
  if (!manifest.migration.empty()) {
    Json counts = Json::object();
    for (const auto& [key, value] : manifest.migration) counts[key] = value;
    json["migration"] = counts;
  }
  if (!manifest.privacy.empty()) json["privacy"] = json_object(manifest.privacy);
  // Text that is not UTF-8 (a path in another encoding) is written with U+FFFD in its place
  // rather than failing a finished run; everything else is kept exactly.
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// Writes `text` to a new file `path` with mode 0640 and syncs it; what failed, or "".
std::string write_synced(const fs::path& path, const std::string& text) {
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
  if (descriptor < 0) return std::strerror(errno);
  std::string problem;
  const char* data = text.data();
  std::size_t left = text.size();
  while (problem.empty() && left > 0) {
    const ssize_t wrote = ::write(descriptor, data, left);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      problem = std::strerror(errno);
    } else {
      data += wrote;
      left -= static_cast<std::size_t>(wrote);
    }
  }
  // Whatever the umask, outputs are 0640 (docs/operations.md).
  if (problem.empty() && (::fchmod(descriptor, 0640) != 0 || ::fsync(descriptor) != 0)) {
    problem = std::strerror(errno);
  }
  if (::close(descriptor) != 0 && problem.empty()) problem = std::strerror(errno);
  return problem;
}

}  // namespace

void write_manifest(const std::string& directory, const RunManifest& manifest) {
  const std::string json = manifest_json(directory, manifest);
  // Written under a temporary name with mode 0640 from the start, then renamed: a reader finds
  // either no manifest or a complete one.
  const fs::path final_path = fs::path(directory) / "manifest.json";
  const fs::path temporary = fs::path(directory) / ".manifest.json.partial";
  std::string problem = write_synced(temporary, json);
  std::error_code code;
  if (problem.empty()) {
    fs::rename(temporary, final_path, code);
    if (code) problem = code.message();
  }
  if (!problem.empty()) {
    fs::remove(temporary, code);
    throw InputError("cannot write the manifest '" + final_path.string() + "': " + problem);
  }
}

namespace {

std::string text_of(const Json& json, const char* key) {
  const auto found = json.find(key);
  return found != json.end() && found->is_string() ? found->get<std::string>() : std::string();
}

TextFields fields_of(const Json& json) {
  TextFields fields;
  if (!json.is_object()) return fields;
  for (const auto& [key, value] : json.items()) {
    fields.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return fields;
}

RecordedManifest recorded_manifest(const Json& json) {
  RecordedManifest manifest;
  manifest.format_version = json.value("format_version", 0);
  manifest.command = text_of(json, "command");
  manifest.ranks = json.value("ranks", 0);
  for (const Json& output : json.value("outputs", Json::array())) {
    manifest.outputs.push_back(
        {text_of(output, "file"), text_of(output, "sha256"), text_of(output, "content_sha256")});
  }
  const Json input = json.value("input", Json::object());
  manifest.input = text_of(input, "path");
  manifest.input_fingerprint = fields_of(input.value("fingerprint", Json::object()));
  manifest.has_options = json.contains("options");
  manifest.options = fields_of(json.value("options", Json::object()));
  for (const Json& reference : json.value("references", Json::array())) {
    manifest.references.push_back({text_of(reference, "role"), text_of(reference, "path"),
                                   text_of(reference, "content_sha256")});
  }
  return manifest;
}

}  // namespace

RecordedManifest read_manifest(const std::string& directory) {
  const fs::path path = fs::path(directory) / "manifest.json";
  std::ifstream in(path);
  if (!in) throw InputError("cannot read the manifest '" + path.string() + "': no such file");
  Json json;
  try {
    json = Json::parse(in);
  } catch (const std::exception& e) {
    throw InputError("'" + path.string() + "' is not valid JSON: " + e.what());
  }
  if (!json.is_object() || json.value("format", "") != "microseg-manifest") {
    throw InputError("'" + path.string() +
                     "' is not a microseg manifest (no \"format\": " + "\"microseg-manifest\")");
  }
  try {
    return recorded_manifest(json);
  } catch (const std::exception& e) {
    throw InputError("'" + path.string() + "': unexpected content: " + e.what());
  }
}

void remove_manifest(const std::string& directory) {
  const fs::path path = fs::path(directory) / "manifest.json";
  std::error_code code;
  fs::remove(path, code);
  if (code) {
    throw InputError("cannot remove the previous manifest '" + path.string() +
                     "': " + code.message());
  }
}

std::string manifest_input_path(const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / "manifest.json").string();
  std::ifstream in(path);
  if (!in) throw InputError("run '" + directory + "': cannot read '" + path + "'");
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.contains("input") || !json["input"].is_object() ||
      !json["input"].contains("path") || !json["input"]["path"].is_string()) {
    throw InputError("run '" + directory + "': '" + path + "' records no input.path");
  }
  return json["input"]["path"].get<std::string>();
}

}  // namespace microseg::io
