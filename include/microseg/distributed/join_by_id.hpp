#pragma once
/// \file The distributed join of this run's customers with a previous run's, by customer id.
///
/// Both sides are hash-partitioned by id with one all-to-all each, joined on the rank that owns
/// the id, and the matches sent back to the rank that holds the customer's row. No rank ever
/// holds more than its share of either side, and the result does not depend on the rank count
/// or on the order of the customers in either file.
#include <cstdint>
#include <vector>

#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// A previous run's record of one customer.
struct PreviousAssignment {
  std::int64_t id = 0;
  double distance = 0;        ///< to its centroid, in the previous run's scaled space
  double value = 0;           ///< its value feature in the previous run (NaN when not recorded)
  std::int32_t segment = -1;  ///< stable id; -1 marks "no previous record"
  std::int32_t padding = 0;   ///< keeps the record free of uninitialised bytes on the wire
};

/// The join seen from one rank.
struct JoinedCustomers {
  /// Per local row of this run, in row order: the previous record of the same id, or a record
  /// with segment -1 for a customer new in this run.
  std::vector<PreviousAssignment> previous;
  /// Previous records whose id is not in this run (customers who left). Each is held by exactly
  /// one rank (the owner of its id's hash), so sums over them are sums over all ranks.
  std::vector<PreviousAssignment> missing_now;
};

/// Collective. `rows` and `ids` are this rank's rows of the current run (rows in rank order);
/// `previous` is any share of the previous run's records (each record on exactly one rank).
/// Ids are unique on each side (the callers checked).
JoinedCustomers join_by_id(const Communicator& comm, RowRange rows,
                           const std::vector<std::int64_t>& ids,
                           const std::vector<PreviousAssignment>& previous);

}  // namespace microseg::distributed
