#pragma once
/// \file `microseg generate campaign` as a pipeline: a synthetic campaign for the customers of a
/// run, with a planted uplift per planted segment of the run's input table. Every draw is keyed
/// by (seed, customer id), so the file is the same for any rank count.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::pipeline {

struct CampaignPlan {
  std::string run;             ///< output directory of a `microseg segment` run
  std::string input;           ///< its customer table ("" : the one its manifest records)
  std::vector<double> uplift;  ///< one value for every planted segment, or one per segment
  double base_rate = 0.05;     ///< conversion rate without treatment
  double treatment_share = 0.5;
  double revenue_mean = 40;  ///< mean revenue of a converted customer (exponential)
  std::uint64_t seed = 1;
  std::string output;  ///< the campaign CSV

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& run& input& uplift& base_rate& treatment_share& revenue_mean& seed& output;
  }
};

struct CampaignResult {
  std::int64_t customers = 0, treated = 0, converted = 0;
  int planted_segments = 0;
  std::string input;  ///< the table the planted segments came from
};

/// Collective: writes plan.output. Throws InputError (every rank alike) when the run or its
/// table cannot be read, the table is not the run's input, or the uplift list does not fit.
CampaignResult generate_campaign(const distributed::Communicator& comm, const CampaignPlan& plan);

}  // namespace microseg::pipeline
