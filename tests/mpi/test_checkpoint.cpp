// A fit stopped at any iteration (on a request from one rank only), checkpointed to a real
// HDF5 file and resumed, ends bit-identical to a fit that never stopped.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/io/checkpoint_file.hpp"
#include "scaled_synthetic.hpp"

using namespace microseg;
using distributed::Communicator;

namespace {

struct Fixture {
  Communicator comm;
  test_support::ScaledSynthetic scaled =
      test_support::scaled_synthetic(comm, SyntheticSpec{3001, 6, 1.5, 21});
  distributed::FitSettings settings;

  Fixture() {
    settings.lloyd.k = 9;
    settings.lloyd.max_iterations = 40;
    settings.lloyd.tolerance = 0;
    settings.lloyd.mean_variance = distributed::mean_scaled_variance(scaled.transform);
    settings.seed = 77;
    settings.restarts = 3;
  }

  distributed::FitOutcome fit(const distributed::FitControl& control = {}) {
    return distributed::fit_kmeans(scaled.rows, distributed::KMeansParallelSeeding(), settings,
                                   control);
  }
};

std::string shared_temp_path(const Communicator& comm, const std::string& name) {
  std::string dir;
  if (comm.is_root()) {
    dir = (std::filesystem::temp_directory_path() /
           ("microseg-checkpoint-" + std::to_string(::getpid())))
              .string();
    std::filesystem::create_directories(dir);
  }
  comm.broadcast(dir);
  return dir + "/" + name;
}

}  // namespace

TEST_CASE("a fit interrupted at any iteration and resumed from its checkpoint file is identical") {
  Fixture f;
  const distributed::FitOutcome uninterrupted = f.fit();
  const std::string path = shared_temp_path(f.comm, "checkpoint.h5");
  // Global iteration counts at which the last rank alone asks to stop: in the first restart, at
  // the first iteration of a later one, and deep into the last.
  int total_iterations = 0;
  for (int stop_at : {1, 4, 9, 15, 30}) {
    int seen = 0;
    distributed::FitControl control;
    control.stop_requested = [&] {
      return ++seen == stop_at && f.comm.rank() == f.comm.size() - 1;
    };
    control.write_checkpoint = [&](const FitCheckpoint& checkpoint) {
      io::write_checkpoint(path, f.comm.native(), {"config", "input", checkpoint});
    };
    bool interrupted = false;
    try {
      f.fit(control);
    } catch (const distributed::FitInterrupted&) {
      interrupted = true;
    }
    if (!interrupted) continue;  // the fit finished before that iteration
    ++total_iterations;
    const io::CheckpointRecord record = io::read_checkpoint(path);
    CHECK(record.configuration_fingerprint == "config");
    distributed::FitControl resume;
    resume.resume = &record.fit;
    const distributed::FitOutcome resumed = f.fit(resume);
    INFO("stopped at call " << stop_at << ", restart " << record.fit.restart << ", iteration "
                            << record.fit.iteration);
    CHECK(resumed.model.centroids == uninterrupted.model.centroids);
    CHECK(resumed.model.iterations == uninterrupted.model.iterations);
    CHECK(resumed.model.converged == uninterrupted.model.converged);
    CHECK(resumed.best_restart == uninterrupted.best_restart);
    CHECK(resumed.initial == uninterrupted.initial);
    CHECK(resumed.restart_inertias == uninterrupted.restart_inertias);
  }
  CHECK(total_iterations >= 4);  // the stops above must really have interrupted the fit
  if (f.comm.is_root()) std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_CASE("periodic checkpoints do not change the fit") {
  Fixture f;
  const distributed::FitOutcome plain = f.fit();
  int written = 0;
  distributed::FitControl control;
  control.checkpoint_every = 2;
  control.write_checkpoint = [&](const FitCheckpoint&) { ++written; };
  const distributed::FitOutcome checkpointed = f.fit(control);
  CHECK(written > 0);
  CHECK(checkpointed.model.centroids == plain.model.centroids);
}

TEST_CASE("a missing or foreign checkpoint file is refused with its name") {
  CHECK_THROWS_WITH(io::read_checkpoint("/nonexistent/checkpoint.h5"),
                    Catch::Contains("/nonexistent/checkpoint.h5"));
}
