// Catch2 main for tests run under mpiexec: every rank runs every test case in the same order,
// so collectives inside test cases line up. Only rank 0 reports.
#define CATCH_CONFIG_RUNNER
#include <mpi.h>

#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  Catch::Session session;
  if (rank != 0) session.configData().outputFilename = "/dev/null";  // rank 0 speaks for all
  int failed = session.run(argc, argv);
  // A failure on any rank fails the run.
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any_failed != 0 ? 1 : 0;
}
