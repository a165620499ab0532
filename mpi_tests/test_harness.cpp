// Tests of the MPI test main itself (mpi_main.cpp). DISABLED_FailsOnRankOne fails on rank 1
// only, on purpose: it never runs in the normal MPI tests, only in the CTest entry
// mpi_harness_reports_rank_failure (--gtest_also_run_disabled_tests, np 2, through
// expect_rank_failure.sh), which checks that rank 0 reports the failure by name with the rank,
// and that every rank exits non-zero.
#include <gtest/gtest.h>

#include <cstdint>

#include "seqlearn/communicator.hpp"

TEST(MpiHarness, DISABLED_FailsOnRankOne) {
  auto comm = seqlearn::make_mpi_communicator();
  const int rank = comm->rank();
  EXPECT_NE(rank, 1) << "deliberate failure on rank 1 (mpi_harness_reports_rank_failure)";
}

// Runs after the failing one (same suite, declaration order): a passing test stays passing.
TEST(MpiHarness, PassesOnEveryRank) {
  auto comm = seqlearn::make_mpi_communicator();
  EXPECT_EQ(comm->sum(std::uint64_t{1}), static_cast<std::uint64_t>(comm->size()));
}
