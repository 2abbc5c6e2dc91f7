#pragma once
// Private to src/io: the /customers group of a written customer table, shared by
// write_customer_table and the quarter files.
#include "microseg/io/customer_table.hpp"
#include "output_file.hpp"

namespace microseg::io::detail {

/// Collective: writes /customers/{id, features (+ feature_names), planted_segment} of `block`
/// (every rank's blocks have planted segments) under `root`, each rank its rows; returns the
/// group for further columns.
OutputGroup write_customers_group(const OutputGroup& root, const CustomerTableBlock& block);

}  // namespace microseg::io::detail
