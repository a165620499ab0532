// GoogleTest main for the MPI tests: MPI is initialised once for all tests, and only rank 0
// prints (a failure on any rank is made every rank's failure by the tests themselves).
#include <gtest/gtest.h>

#include "seqlearn/communicator.hpp"

int main(int argc, char** argv) {
  seqlearn::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (seqlearn::MpiSession::world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
