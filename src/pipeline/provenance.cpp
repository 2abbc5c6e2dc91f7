#include "microseg/pipeline/provenance.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <boost/version.hpp>
#include <sstream>

#include "microseg/core/content_digest.hpp"
#include "microseg/io/library_version.hpp"
#include "microseg/version.hpp"

namespace microseg::pipeline {

std::string content_digest(const distributed::Communicator& comm, const CustomerBlock& block) {
  ContentDigestSums sums = content_digest_sums(block);
  sums.low = comm.sum(sums.low);
  sums.high = comm.sum(sums.high);
  return content_digest_text(sums);
}

TextFields input_fingerprint(const std::string& path, std::int64_t customers,
                             const std::vector<std::string>& features, const std::string& digest) {
  std::string names;
  for (const auto& name : features) names += (names.empty() ? "" : ",") + name;
  return {{"file", path},
          {"customers", std::to_string(customers)},
          {"features", names},
          {"content_digest", digest}};
}

TextFields parse_fields(const std::string& text) {
  TextFields fields;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find(" = ");
    if (equals == std::string::npos) continue;
    fields.emplace_back(line.substr(0, equals), line.substr(equals + 3));
  }
  return fields;
}

std::string fields_text(const TextFields& fields) {
  std::string text;
  for (const auto& [key, value] : fields) text += key + " = " + value + "\n";
  return text;
}

std::optional<std::string> fingerprint_difference(const TextFields& saved, const TextFields& here) {
  const auto find = [](const TextFields& fields, const std::string& key) -> const std::string* {
    for (const auto& field : fields) {
      if (field.first == key) return &field.second;
    }
    return nullptr;
  };
  const auto shown = [](const std::string* value) {
    return value == nullptr ? std::string("(absent)") : "'" + *value + "'";
  };
  for (const auto& [key, value] : here) {
    if (key == "file") continue;
    const std::string* there = find(saved, key);
    if (there == nullptr || *there != value) {
      return key + " = " + shown(there) + " in the checkpoint, " + shown(&value) + " here";
    }
  }
  for (const auto& [key, value] : saved) {
    if (key != "file" && find(here, key) == nullptr) {
      return key + " = " + shown(&value) + " in the checkpoint, " + shown(nullptr) + " here";
    }
  }
  return std::nullopt;
}

namespace {

std::string eigen_version() {
  return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION);
}

std::string boost_version() {
  return std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
         "." + std::to_string(BOOST_VERSION % 100);
}

}  // namespace

TextFields library_versions() {
  return {{"microseg", MICROSEG_VERSION},
          {"mpi", distributed::Communicator::library_version()},
          {"hdf5", io::hdf5_library_version()},
          {"eigen", eigen_version()},
          {"boost", boost_version()}};
}

TextFields build_versions() {
  return {{"git commit", git_commit},
          {"MPI", distributed::Communicator::header_version() + "; running " +
                      distributed::Communicator::library_version()},
          {"HDF5", io::hdf5_header_version() + "; running " + io::hdf5_library_version()},
          {"Eigen", eigen_version()},
          {"Boost", boost_version()}};
}

void write_run_manifest(const distributed::Communicator& comm, const std::string& directory,
                        io::RunManifest manifest) {
  std::optional<std::string> error;
  if (comm.is_root()) {
    manifest.ranks = comm.size();
    manifest.threads = omp_get_max_threads();
    manifest.versions = library_versions();
    try {
      io::write_manifest(directory, manifest);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
}

void remove_run_manifest(const distributed::Communicator& comm, const std::string& directory) {
  comm.run_agreed([&] {
    if (comm.is_root()) io::remove_manifest(directory);
  });
}

}  // namespace microseg::pipeline
