#pragma once
// Private to src/io: the /customers group of an input file as the schema inspection and the
// block reader open it, and the words their messages share (naming the file and the dataset).
#include <mpi.h>

#include <string>
#include <vector>

#include "hdf5_object.hpp"

namespace microseg::io::detail {

/// "integers", "strings", ...: what a dataset of this class holds, for messages.
std::string describe_class(H5T_class_t type_class);
/// "a scalar", "2-D (3 × 4)".
std::string describe_dims(const std::vector<hsize_t>& dims);
bool is_numeric(H5T_class_t type_class);
/// "OBJECT in 'PATH'".
std::string in_file(const std::string& object, const std::string& path);
/// "/customers/NAME".
std::string customers_path(const std::string& name);

/// Collective: opens the input file `path` read-only with MPI-IO over `comm`. Throws InputError
/// when it is missing, a directory or not an HDF5 file.
File open_input_file(const std::string& path, MPI_Comm comm);
/// /customers of the input file `path`; throws InputError when it is missing or not a group.
Group open_customers_group(const File& file, const std::string& path);
/// /customers/NAME as a dataset; throws InputError when it cannot be opened as one.
Dataset open_customers_dataset(const Group& customers, const std::string& name,
                               const std::string& path);
/// The class and shape of `dataset` (named `object` in messages); throws InputError when HDF5
/// cannot tell them.
Shape shape_of(const Dataset& dataset, const std::string& object, const std::string& path);
/// Checks, before any value is read, that the values of `dataset` (of `shape`, named `object`)
/// can lie where its layout and chunk index say: inside the file, every chunk stored, each
/// chunk of the size its extent needs unless compressed. Throws InputError naming the file and
/// dataset otherwise. A damaged file would else be read past its end, have missing chunks read
/// as zeros, or fail on one rank alone: each rank looks up only the chunks of its own rows,
/// while every rank makes this check on the whole dataset and so finds the same.
void check_stored_values(const Dataset& dataset, const Shape& shape, const std::string& object,
                         const std::string& path);

}  // namespace microseg::io::detail
