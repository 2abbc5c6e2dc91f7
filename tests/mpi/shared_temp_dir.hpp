#pragma once
// A directory under /tmp unique to one test, shared by every rank of MPI_COMM_WORLD (rank 0
// makes it and broadcasts its name) and removed at the end.
#include <mpi.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace microseg::test_support {

class SharedTempDir {
 public:
  explicit SharedTempDir(const std::string& prefix = "microseg-test") {
    char name[256] = {};
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
      std::string pattern = "/tmp/" + prefix + "-XXXXXX";
      const char* made = mkdtemp(pattern.data());
      std::snprintf(name, sizeof name, "%s", made != nullptr ? made : "");
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = name;
  }
  SharedTempDir(const SharedTempDir&) = delete;
  SharedTempDir& operator=(const SharedTempDir&) = delete;
  ~SharedTempDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::error_code ignored;
    if (rank == 0 && !path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace microseg::test_support
