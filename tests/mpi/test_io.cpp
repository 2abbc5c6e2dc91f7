// The io layer at 1–4 ranks: customer tables written in one split read back in another,
// h5py-made inputs (tests/fixtures/make_inputs.py), the messages of bad inputs, and the layout
// of segments.h5 and its CSVs. Every rank runs every collective; checks come after them.
#include <hdf5.h>
#include <mpi.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "microseg/core/synthetic.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/segments_file.hpp"
#include "shared_temp_dir.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using microseg::InputError;
using microseg::RowRange;
namespace io = microseg::io;

namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

RowRange block_of(std::int64_t n, int rank, int size) {
  return {n * rank / size, n * (rank + 1) / size};
}

using microseg::test_support::SharedTempDir;

// Rank 0 runs the fixture generator; every rank learns whether it worked.
bool make_fixtures(const std::string& directory) {
  int ok = 0;
  if (world_rank() == 0) {
    const fs::path script =
        fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "make_inputs.py";
    const std::string command = "/usr/bin/python3 '" + script.string() + "' '" + directory + "'";
    ok = std::system(command.c_str()) == 0 ? 1 : 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok == 1;
}

void write_text_on_root(const std::string& path, const std::string& text) {
  if (world_rank() == 0) std::ofstream(path) << text;
  MPI_Barrier(MPI_COMM_WORLD);
}

// Writes rows [0, n) of a synthetic base with each rank writing its own block.
void write_synthetic_table(const std::string& path, const microseg::SyntheticSpec& spec) {
  const RowRange rows = block_of(spec.customers, world_rank(), world_size());
  const microseg::SyntheticBlock block = microseg::generate_synthetic_block(spec, rows);
  io::write_customer_table(path, MPI_COMM_WORLD,
                           {rows, spec.customers, &microseg::synthetic_feature_names(), &block.ids,
                            &block.features, &block.planted_segment});
}

// The message every rank gets from `work`, or "" when it succeeds.
template <class Work>
std::string error_of(Work&& work) {
  try {
    work();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A split unlike block_of's: ranks take blocks in reverse order.
RowRange other_split(std::int64_t n) {
  return block_of(n, world_size() - 1 - world_rank(), world_size());
}

// Serial reads of a finished file, for checks on one rank.
struct SerialFile {
  explicit SerialFile(const std::string& path)
      : id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~SerialFile() {
    if (id >= 0) H5Fclose(id);
  }
  std::vector<hsize_t> dims(const std::string& dataset) const {
    const hid_t d = H5Dopen2(id, dataset.c_str(), H5P_DEFAULT);
    const hid_t space = H5Dget_space(d);
    std::vector<hsize_t> result(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, result.data(), nullptr);
    H5Sclose(space);
    H5Dclose(d);
    return result;
  }
  template <class T>
  std::vector<T> read(const std::string& dataset, hid_t memory_type) const {
    std::size_t count = 1;
    for (hsize_t extent : dims(dataset)) count *= extent;
    std::vector<T> values(count);
    const hid_t d = H5Dopen2(id, dataset.c_str(), H5P_DEFAULT);
    H5Dread(d, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(d);
    return values;
  }
  template <class T>
  T attribute(const std::string& object, const std::string& name, hid_t memory_type) const {
    T value{};
    const hid_t a = H5Aopen_by_name(id, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, memory_type, &value);
    H5Aclose(a);
    return value;
  }
  std::string string_attribute(const std::string& object, const std::string& name) const {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    char* text = nullptr;
    const hid_t a = H5Aopen_by_name(id, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, type, &text);
    std::string result = text != nullptr ? text : "";
    H5free_memory(text);
    H5Aclose(a);
    H5Tclose(type);
    return result;
  }
  std::vector<std::string> names(const std::string& object) const {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hid_t a = H5Aopen_by_name(id, object.c_str(), "feature_names", H5P_DEFAULT, H5P_DEFAULT);
    const hid_t space = H5Aget_space(a);
    hsize_t count = 0;
    H5Sget_simple_extent_dims(space, &count, nullptr);
    std::vector<char*> texts(count, nullptr);
    H5Aread(a, type, texts.data());
    std::vector<std::string> result(texts.begin(), texts.end());
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, texts.data());
    H5Sclose(space);
    H5Aclose(a);
    H5Tclose(type);
    return result;
  }
  bool has(const std::string& object) const {
    return H5Lexists(id, object.c_str(), H5P_DEFAULT) > 0;
  }
  hid_t id;
};

unsigned mode_of(const std::string& path) {
  struct stat status {};
  stat(path.c_str(), &status);
  return status.st_mode & 0777u;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a customer table written in one split reads back identically in another", "[io]") {
  SharedTempDir dir;
  const microseg::SyntheticSpec spec{1003, 5, 3.0, 17};
  const std::string path = dir.file("customers.h5");
  write_synthetic_table(path, spec);

  const io::CustomerTableSchema schema = io::inspect_customer_table(path, MPI_COMM_WORLD);
  const RowRange rows = other_split(spec.customers);
  const microseg::CustomerBlock block =
      io::read_customer_block(schema, io::select_features(schema, {}), rows, MPI_COMM_WORLD);
  const microseg::SyntheticBlock expected = microseg::generate_synthetic_block(spec, rows);

  CHECK(schema.rows == 1003);
  CHECK(schema.layout == io::FeatureLayout::matrix);
  CHECK(schema.feature_names == microseg::synthetic_feature_names());
  CHECK(block.rows.begin == rows.begin);
  CHECK(block.rows.end == rows.end);
  CHECK(block.feature_names == microseg::synthetic_feature_names());
  CHECK(block.ids == expected.ids);
  CHECK(block.features == expected.features);
  if (world_rank() == 0) {
    const SerialFile file(path);
    CHECK(file.dims("/customers/planted_segment") == std::vector<hsize_t>{1003});
    const auto planted = file.read<std::int32_t>("/customers/planted_segment", H5T_NATIVE_INT32);
    const auto all = microseg::generate_synthetic_block(spec, {0, spec.customers});
    CHECK(planted == all.planted_segment);
    CHECK(file.names("/customers/features") == microseg::synthetic_feature_names());
    CHECK(mode_of(path) == 0640u);
    CHECK_FALSE(fs::exists(dir.file(".customers.h5.partial")));
  }
}

TEST_CASE("ranks without rows take part in writing and reading a table", "[io]") {
  SharedTempDir dir;
  // One customer: at two or more ranks every rank but one holds nothing.
  const microseg::SyntheticSpec spec{1, 3, 3.0, 2};
  const std::string path = dir.file("one.h5");
  write_synthetic_table(path, spec);
  const io::CustomerTableSchema schema = io::inspect_customer_table(path, MPI_COMM_WORLD);
  const RowRange rows = other_split(spec.customers);
  const auto block = io::read_customer_block(schema, io::select_features(schema, {"income"}), rows,
                                             MPI_COMM_WORLD);
  const auto expected = microseg::generate_synthetic_block(spec, rows);
  CHECK(schema.rows == 1);
  CHECK(block.ids == expected.ids);
  REQUIRE(block.features.rows() == rows.size());
  CHECK(block.features.cols() == 1);
  if (rows.size() == 1) CHECK(block.features(0, 0) == expected.features(0, 1));
}

TEST_CASE("selected features are read in the order asked for", "[io]") {
  SharedTempDir dir;
  const microseg::SyntheticSpec spec{257, 4, 3.0, 9};
  const std::string path = dir.file("customers.h5");
  write_synthetic_table(path, spec);
  const auto schema = io::inspect_customer_table(path, MPI_COMM_WORLD);
  const std::vector<std::string> wanted{"web_share", "age", "income", "tenure_days"};
  const std::vector<int> columns = io::select_features(schema, wanted);
  const RowRange rows = other_split(spec.customers);
  const auto block = io::read_customer_block(schema, columns, rows, MPI_COMM_WORLD);
  const auto expected = microseg::generate_synthetic_block(spec, rows);

  CHECK(columns == std::vector<int>{11, 0, 1, 15});
  CHECK(block.feature_names == wanted);
  bool same = block.features.rows() == rows.size() && block.features.cols() == 4;
  for (Eigen::Index i = 0; same && i < block.features.rows(); ++i) {
    for (int c = 0; c < 4; ++c)
      same = same && block.features(i, c) == expected.features(i, columns[c]);
  }
  CHECK(same);
}

TEST_CASE("select_features names an unknown feature and lists those available", "[io]") {
  io::CustomerTableSchema schema;
  schema.path = "customers.h5";
  schema.rows = 10;
  schema.feature_names = {"age", "income"};
  CHECK(io::select_features(schema, {}) == std::vector<int>{0, 1});
  CHECK_THROWS_AS(io::select_features(schema, {"shoe_size"}), InputError);
  CHECK_THROWS_WITH(io::select_features(schema, {"income", "shoe_size"}),
                    Contains("'shoe_size'") && Contains("age, income") && Contains("customers.h5"));
  CHECK_THROWS_WITH(io::select_features(schema, {"age", "age"}), Contains("'age'"));
}

TEST_CASE("a failed table write keeps the previous file and leaves no partial one", "[io]") {
  SharedTempDir dir;
  const std::string path = dir.file("customers.h5");
  write_synthetic_table(path, {50, 3, 3.0, 1});
  // Blocks summing to more rows than announced: every rank agrees this is wrong.
  const RowRange rows = block_of(50, world_rank(), world_size());
  const auto block = microseg::generate_synthetic_block({50, 3, 3.0, 2}, rows);
  const std::string message = error_of([&] {
    io::write_customer_table(path, MPI_COMM_WORLD,
                             {rows, 49, &microseg::synthetic_feature_names(), &block.ids,
                              &block.features, &block.planted_segment});
  });
  const auto schema = io::inspect_customer_table(path, MPI_COMM_WORLD);
  const auto read = io::read_customer_block(schema, {}, rows, MPI_COMM_WORLD);
  const auto original = microseg::generate_synthetic_block({50, 3, 3.0, 1}, rows);
  CHECK_THAT(message, Contains(path) && Contains("49"));
  CHECK(read.ids == original.ids);
  CHECK_FALSE(fs::exists(dir.file(".customers.h5.partial")));
}

TEST_CASE("missing, unreadable and malformed tables are named in the message", "[io]") {
  SharedTempDir dir;
  const std::string missing = dir.file("missing.h5");
  const std::string text = dir.file("text.h5");
  write_text_on_root(text, "id,income\n1,2\n");
  const std::string missing_error =
      error_of([&] { io::inspect_customer_table(missing, MPI_COMM_WORLD); });
  const std::string text_error =
      error_of([&] { io::inspect_customer_table(text, MPI_COMM_WORLD); });
  const std::string directory_error =
      error_of([&] { io::inspect_customer_table(dir.path(), MPI_COMM_WORLD); });
  CHECK_THAT(missing_error, Contains("'" + missing + "'") && Contains("does not exist"));
  CHECK_THAT(text_error, Contains("'" + text + "'") && Contains("not a readable HDF5 file"));
  CHECK_THAT(directory_error, Contains("directory"));
}

TEST_CASE("tables made by h5py are read in both layouts", "[io][h5py]") {
  SharedTempDir dir;
  if (!make_fixtures(dir.path())) {
    WARN("skipped: /usr/bin/python3 with h5py could not write the fixtures");
    return;
  }
  const std::int64_t n = 1000;
  const RowRange rows = other_split(n);
  const auto expect_rows = [&](const microseg::CustomerBlock& block,
                               const std::vector<std::string>& order) {
    bool same = block.ids.size() == static_cast<std::size_t>(rows.size()) &&
                block.features.rows() == rows.size();
    for (Eigen::Index r = 0; same && r < block.features.rows(); ++r) {
      const std::int64_t i = rows.begin + r;
      same = same && block.ids[r] == 5'000'000 + 3 * i;
      for (std::size_t c = 0; c < order.size(); ++c) {
        const float value = block.features(r, static_cast<Eigen::Index>(c));
        float expected = 0;
        if (order[c] == "age") expected = static_cast<float>(18 + i % 70);
        if (order[c] == "income") expected = static_cast<float>(20000 + 37.5 * i);
        if (order[c] == "visits") expected = static_cast<float>(i % 13);
        if (order[c] == "score") expected = static_cast<float>((i % 100) / 4.0);
        same = same && value == expected;
      }
    }
    return same;
  };

  // Creation order tracked: datasets in the order h5py created them.
  const auto tracked = io::inspect_customer_table(dir.file("columns_gzip.h5"), MPI_COMM_WORLD);
  const auto tracked_block =
      io::read_customer_block(tracked, io::select_features(tracked, {}), rows, MPI_COMM_WORLD);
  const auto by_name =
      io::inspect_customer_table(dir.file("columns_name_order.h5"), MPI_COMM_WORLD);
  const auto subset = io::read_customer_block(
      by_name, io::select_features(by_name, {"visits", "age"}), rows, MPI_COMM_WORLD);
  const auto matrix64 = io::inspect_customer_table(dir.file("matrix_float64.h5"), MPI_COMM_WORLD);
  const auto matrix_block = io::read_customer_block(
      matrix64, io::select_features(matrix64, {"visits", "age"}), rows, MPI_COMM_WORLD);
  const auto vlen = io::inspect_customer_table(dir.file("matrix_vlen_names.h5"), MPI_COMM_WORLD);
  const auto vlen_block =
      io::read_customer_block(vlen, io::select_features(vlen, {}), rows, MPI_COMM_WORLD);
  const auto unnamed = io::inspect_customer_table(dir.file("matrix_no_names.h5"), MPI_COMM_WORLD);

  CHECK(tracked.layout == io::FeatureLayout::columns);
  CHECK(tracked.rows == n);
  CHECK(tracked.feature_names == std::vector<std::string>{"score", "age", "income", "visits"});
  CHECK(expect_rows(tracked_block, tracked.feature_names));
  CHECK(by_name.feature_names == std::vector<std::string>{"age", "income", "score", "visits"});
  CHECK(expect_rows(subset, {"visits", "age"}));
  CHECK(matrix64.layout == io::FeatureLayout::matrix);
  CHECK(matrix64.feature_names == std::vector<std::string>{"age", "income", "visits"});
  CHECK(expect_rows(matrix_block, {"visits", "age"}));
  CHECK(vlen.feature_names == std::vector<std::string>{"age", "income", "visits"});
  CHECK(expect_rows(vlen_block, vlen.feature_names));
  CHECK(unnamed.feature_names == std::vector<std::string>{"feature_0", "feature_1", "feature_2"});
}

TEST_CASE("bad h5py tables are rejected naming the dataset and what was expected", "[io][h5py]") {
  SharedTempDir dir;
  if (!make_fixtures(dir.path())) {
    WARN("skipped: /usr/bin/python3 with h5py could not write the fixtures");
    return;
  }
  const auto inspect_error = [&](const std::string& name) {
    return error_of([&] { io::inspect_customer_table(dir.file(name), MPI_COMM_WORLD); });
  };
  const std::string booleans = inspect_error("bool_column.h5");
  const std::string lengths = inspect_error("mismatched_lengths.h5");
  const std::string no_id = inspect_error("missing_id.h5");
  const std::string float_ids = inspect_error("float_ids.h5");
  const std::string no_group = inspect_error("no_customers_group.h5");
  const std::string names = inspect_error("feature_names_wrong_length.h5");
  const std::string empty = inspect_error("empty_table.h5");
  const std::string no_features = inspect_error("no_features.h5");
  const std::string two_d = inspect_error("two_d_column.h5");

  // Text datasets (external ids, names) are skipped, not features and not errors.
  const io::CustomerTableSchema strings =
      io::inspect_customer_table(dir.file("string_column.h5"), MPI_COMM_WORLD);
  CHECK(strings.feature_names == std::vector<std::string>{"income"});
  CHECK(strings.text_columns == std::vector<std::string>{"name"});
  CHECK_THAT(error_of([&] { io::select_features(strings, {"name"}); }),
             Contains("'name'") && Contains("holds text"));
  CHECK_THAT(booleans, Contains("/customers/churned") && Contains("must be numeric"));
  CHECK_THAT(lengths,
             Contains("/customers/income has 999 rows") && Contains("/customers/id has 1000"));
  CHECK_THAT(no_id, Contains("/customers/id") && Contains("missing_id.h5"));
  CHECK_THAT(float_ids, Contains("/customers/id") && Contains("integer"));
  CHECK_THAT(no_group, Contains("/customers") && Contains("no_customers_group.h5"));
  CHECK_THAT(names, Contains("feature_names") && Contains("2 names") && Contains("3 columns"));
  CHECK_THAT(empty, Contains("no customers"));
  CHECK_THAT(no_features, Contains("no features"));
  CHECK_THAT(two_d, Contains("/customers/income") && Contains("1-D"));
}

TEST_CASE("values beyond float32 are rejected naming the dataset; infinities pass", "[io][h5py]") {
  SharedTempDir dir;
  if (!make_fixtures(dir.path())) {
    WARN("skipped: /usr/bin/python3 with h5py could not write the fixtures");
    return;
  }
  const auto schema = io::inspect_customer_table(dir.file("float32_overflow.h5"), MPI_COMM_WORLD);
  const RowRange rows = block_of(schema.rows, world_rank(), world_size());
  // score holds ±inf and NaN: read as they are.
  const auto score =
      io::read_customer_block(schema, io::select_features(schema, {"score"}), rows, MPI_COMM_WORLD);
  // income holds 1e39 in one rank's rows: every rank gets the same error, naming the row.
  const std::string overflow = error_of([&] {
    io::read_customer_block(schema, io::select_features(schema, {"income"}), rows, MPI_COMM_WORLD);
  });
  // Big-endian float64 in the matrix layout: -1e39 in column income.
  const auto matrix =
      io::inspect_customer_table(dir.file("float32_overflow_matrix.h5"), MPI_COMM_WORLD);
  const std::string matrix_overflow = error_of([&] {
    io::read_customer_block(matrix, io::select_features(matrix, {"visits", "income"}), rows,
                            MPI_COMM_WORLD);
  });
  const auto age =
      io::read_customer_block(matrix, io::select_features(matrix, {"age"}), rows, MPI_COMM_WORLD);
  CHECK_THAT(overflow, Contains("/customers/income") && Contains("float32") &&
                           Contains("float32_overflow.h5") && Contains("row 777"));
  CHECK_THAT(matrix_overflow, Contains("/customers/features") && Contains("row 777") &&
                                  Contains("'income'") && Contains("-1e+39"));
  if (rows.begin <= 5 && rows.end > 5) CHECK(age.features(5 - rows.begin, 0) == INFINITY);
  if (rows.begin <= 3 && rows.end > 3) {
    CHECK(std::isnan(score.features(3 - rows.begin, 0)));
  }
  if (rows.begin <= 1 && rows.end > 2) {
    CHECK(score.features(1 - rows.begin, 0) == INFINITY);
    CHECK(score.features(2 - rows.begin, 0) == -INFINITY);
  }
}

TEST_CASE("read_centroids reads k × d and names the shape it expected", "[io][h5py]") {
  SharedTempDir dir;
  if (!make_fixtures(dir.path())) {
    WARN("skipped: /usr/bin/python3 with h5py could not write the fixtures");
    return;
  }
  const auto centroids = io::read_centroids(dir.file("centroids_3x2.h5"), 3, 2);
  CHECK(centroids.rows() == 3);
  CHECK(centroids.cols() == 2);
  CHECK(centroids(2, 1) == 21.0);
  CHECK_THROWS_WITH(io::read_centroids(dir.file("centroids_3x2.h5"), 4, 2),
                    Contains("centroids_3x2.h5") && Contains("(4 × 2)") && Contains("(3 × 2)"));
  CHECK_THROWS_WITH(io::read_centroids(dir.file("missing.h5"), 3, 2),
                    Contains("missing.h5") && Contains("does not exist"));
  CHECK_THROWS_WITH(io::read_centroids(dir.file("centroids_group.h5"), 3, 2),
                    Contains("not a dataset"));
}

namespace {

microseg::SegmentationSummary small_summary() {
  microseg::SegmentationSummary summary;
  const int k = 3, d = 2;
  summary.feature_names = {"income", "visits, online"};  // a comma, quoted in the CSV
  summary.centroids_scaled = microseg::CentroidMatrix(k, d);
  summary.centroids_original = microseg::CentroidMatrix(k, d);
  auto& p = summary.profiles;
  p.k = k;
  p.d = d;
  for (int s = 0; s < k; ++s) {
    for (int j = 0; j < d; ++j) {
      summary.centroids_scaled(s, j) = s - 0.5 * j;
      summary.centroids_original(s, j) = 100.0 * s + j;
      for (auto* v : {&p.mean, &p.std, &p.min, &p.max, &p.p05, &p.p95, &p.lift}) {
        v->push_back(10 * s + j + 0.25);
      }
    }
    p.size.push_back(s + 1);
    p.share.push_back((s + 1) / 6.0);
  }
  p.population_mean = {1.5, 2.5};
  p.population_std = {0.5, 0.75};
  summary.quality = {12.5, 3.25, 0.5, 0.75, 0.625, 10};
  summary.quality.davies_bouldin = std::nan("");
  summary.run = {{"k", std::int64_t{3}}, {"scaling", std::string("zscore")}, {"tolerance", 1e-4}};
  return summary;
}

}  // namespace

TEST_CASE("write_segmentation writes the documented segments.h5 and CSVs", "[io]") {
  SharedTempDir dir;
  const std::string out = dir.file("run");
  if (world_rank() == 0) io::ensure_writable_directory(out);
  MPI_Barrier(MPI_COMM_WORLD);
  const std::int64_t n = 11;
  const RowRange rows = block_of(n, world_rank(), world_size());
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> segments;
  std::vector<double> distances;
  for (std::int64_t i = rows.begin; i < rows.end; ++i) {
    ids.push_back(1000 + 7 * i);
    segments.push_back(static_cast<std::int32_t>(i % 3));
    distances.push_back(0.5 * i);
  }
  const microseg::AssignmentBlock block{rows, n, &ids, &segments, &distances};
  io::RunOutputs everything;  // segments of 1 to 3 customers: shown only with a minimum of 1
  everything.publication.min_count = 1;
  io::write_segmentation(out, MPI_COMM_WORLD, small_summary(), block, everything);

  if (world_rank() == 0) {
    const SerialFile file(out + "/segments.h5");
    REQUIRE(file.id >= 0);
    CHECK(file.dims("/assignments/id") == std::vector<hsize_t>{11});
    CHECK(file.dims("/assignments/segment") == std::vector<hsize_t>{11});
    CHECK(file.dims("/assignments/distance") == std::vector<hsize_t>{11});
    const auto all_ids = file.read<std::int64_t>("/assignments/id", H5T_NATIVE_INT64);
    const auto all_segments = file.read<std::int32_t>("/assignments/segment", H5T_NATIVE_INT32);
    const auto all_distances = file.read<double>("/assignments/distance", H5T_NATIVE_DOUBLE);
    for (std::int64_t i = 0; i < n; ++i) {
      CHECK(all_ids[i] == 1000 + 7 * i);
      CHECK(all_segments[i] == i % 3);
      CHECK(all_distances[i] == 0.5 * i);
    }
    CHECK(file.dims("/centroids/scaled") == std::vector<hsize_t>{3, 2});
    CHECK(file.read<double>("/centroids/original", H5T_NATIVE_DOUBLE)[5] == 201.0);
    CHECK(file.read<double>("/centroids/scaled", H5T_NATIVE_DOUBLE)[3] == 0.5);
    CHECK(file.names("/centroids/scaled") == small_summary().feature_names);
    CHECK(file.names("/centroids/original") == small_summary().feature_names);
    CHECK(file.names("/profiles") == small_summary().feature_names);
    CHECK(file.read<std::int64_t>("/profiles/size", H5T_NATIVE_INT64) ==
          std::vector<std::int64_t>{1, 2, 3});
    CHECK(file.read<double>("/profiles/share", H5T_NATIVE_DOUBLE)[1] == 2 / 6.0);
    for (const char* name : {"mean", "std", "min", "max", "lift"}) {
      CHECK(file.dims(std::string("/profiles/") + name) == std::vector<hsize_t>{3, 2});
      CHECK(file.read<double>(std::string("/profiles/") + name, H5T_NATIVE_DOUBLE)[3] == 11.25);
    }
    CHECK(file.read<double>("/profiles/population_mean", H5T_NATIVE_DOUBLE) ==
          std::vector<double>{1.5, 2.5});
    CHECK(file.read<double>("/profiles/population_std", H5T_NATIVE_DOUBLE) ==
          std::vector<double>{0.5, 0.75});
    CHECK(file.attribute<double>("/quality", "inertia", H5T_NATIVE_DOUBLE) == 12.5);
    CHECK(std::isnan(file.attribute<double>("/quality", "davies_bouldin", H5T_NATIVE_DOUBLE)));
    CHECK(file.attribute<std::int64_t>("/quality", "silhouette_sample_size", H5T_NATIVE_INT64) ==
          10);
    CHECK(file.attribute<std::int64_t>("/run", "k", H5T_NATIVE_INT64) == 3);
    CHECK(file.attribute<double>("/run", "tolerance", H5T_NATIVE_DOUBLE) == 1e-4);
    CHECK(file.string_attribute("/run", "scaling") == "zscore");

    const auto profiles = lines_of(out + "/profiles.csv");
    REQUIRE(profiles.size() == 4);
    CHECK(profiles[0] ==
          "segment,size,share,income_mean,income_std,income_p05,income_p95,income_lift,"
          "\"visits, online_mean\",\"visits, online_std\",\"visits, online_p05\","
          "\"visits, online_p95\",\"visits, online_lift\",suppressed");
    CHECK(profiles[2] ==
          "1,2,0.3333333333333333,10.25,10.25,10.25,10.25,10.25,11.25,11.25,"
          "11.25,11.25,11.25,");
    const auto quality = lines_of(out + "/quality.csv");
    CHECK(quality ==
          std::vector<std::string>{"metric,value", "inertia,12.5", "calinski_harabasz,3.25",
                                   "davies_bouldin,nan", "silhouette_simplified,0.75",
                                   "silhouette_sampled,0.625", "silhouette_sample_size,10"});
    for (const char* name : {"segments.h5", "profiles.csv", "quality.csv"}) {
      CHECK(mode_of(out + "/" + name) == 0640u);
      CHECK_FALSE(fs::exists(out + "/." + name + ".partial"));
    }
  }
}

TEST_CASE("a failed segmentation write keeps the previous output", "[io]") {
  SharedTempDir dir;
  const std::string out = dir.file("run");
  if (world_rank() == 0) io::ensure_writable_directory(out);
  MPI_Barrier(MPI_COMM_WORLD);
  const RowRange rows = block_of(4, world_rank(), world_size());
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> segments;
  std::vector<double> distances;
  for (std::int64_t i = rows.begin; i < rows.end; ++i) {
    ids.push_back(i);
    segments.push_back(0);
    distances.push_back(1.0);
  }
  const microseg::AssignmentBlock block{rows, 4, &ids, &segments, &distances};
  io::write_segmentation(out, MPI_COMM_WORLD, small_summary(), block);

  // An attribute HDF5 refuses to create fails the run after segments.h5 was begun.
  microseg::SegmentationSummary broken = small_summary();
  broken.quality.inertia = 99;
  broken.run.emplace_back("", 1.0);
  const std::string message =
      error_of([&] { io::write_segmentation(out, MPI_COMM_WORLD, broken, block); });
  // Shapes that do not fit fail before anything is written.
  microseg::SegmentationSummary misshapen = small_summary();
  misshapen.profiles.mean.pop_back();
  const std::string shape_message =
      error_of([&] { io::write_segmentation(out, MPI_COMM_WORLD, misshapen, block); });

  CHECK_THAT(message, Contains("segments.h5"));
  CHECK_THAT(shape_message, Contains("profiles"));
  if (world_rank() == 0) {
    const SerialFile file(out + "/segments.h5");
    CHECK(file.attribute<double>("/quality", "inertia", H5T_NATIVE_DOUBLE) == 12.5);
    CHECK(lines_of(out + "/quality.csv").at(1) == "inertia,12.5");
    for (const char* name : {"segments.h5", "profiles.csv", "quality.csv"}) {
      CHECK_FALSE(fs::exists(out + "/." + name + ".partial"));
    }
  }
}

TEST_CASE("ensure_writable_directory creates the directory and names it when it cannot", "[io]") {
  SharedTempDir dir;
  if (world_rank() == 0) {
    const std::string nested = dir.file("a/b/c");
    io::ensure_writable_directory(nested);
    CHECK(fs::is_directory(nested));
    CHECK(fs::is_empty(nested));
    const std::string file = dir.file("plain");
    std::ofstream(file) << "x";
    CHECK_THROWS_WITH(io::ensure_writable_directory(file), Contains("'" + file + "'"));
    CHECK_THROWS_WITH(io::ensure_writable_directory(file + "/sub"), Contains(file + "/sub"));
  }
}
