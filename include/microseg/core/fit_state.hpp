#pragma once
/// \file The state of a k-means fit: its outcome, and a checkpoint to continue it from.
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg {

struct LloydOutcome {
  CentroidMatrix centroids;
  int iterations = 0;
  bool converged = false;
  double inertia = 0;  ///< of the last iteration (against the centroids it started from)
};

/// Where a fit stands after a whole number of Lloyd iterations: enough to continue it and end
/// bit-identical to a fit that never stopped (draws are keyed by seed and restart, not stored).
struct FitCheckpoint {
  int restart = 0;
  int iteration = 0;         ///< Lloyd iterations done in this restart
  CentroidMatrix centroids;  ///< after `iteration` iterations
  CentroidMatrix initial;    ///< this restart's seeds
  // The best finished restart so far (best_restart = −1: none yet).
  int best_restart = -1;
  LloydOutcome best_model;
  CentroidMatrix best_initial;
  std::vector<double> restart_inertias;
};

}  // namespace microseg
