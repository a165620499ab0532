// How a rank chooses its thread count (threads.hpp, docs/parallel.md).
#include <gtest/gtest.h>

#include <cstdlib>

#include "seqlearn/threads.hpp"

using seqlearn::choose_threads;
using seqlearn::kMinSynapsesPerThread;

namespace {

// Sets OMP_NUM_THREADS for one test and restores it.
class OmpNumThreads {
 public:
  explicit OmpNumThreads(const char* value) {
    if (const char* old = std::getenv("OMP_NUM_THREADS")) old_ = old, had_ = true;
    if (value)
      setenv("OMP_NUM_THREADS", value, 1);
    else
      unsetenv("OMP_NUM_THREADS");
  }
  ~OmpNumThreads() {
    if (had_)
      setenv("OMP_NUM_THREADS", old_.c_str(), 1);
    else
      unsetenv("OMP_NUM_THREADS");
  }

 private:
  std::string old_;
  bool had_ = false;
};

}  // namespace

TEST(Threads, ExplicitCountIsTakenAsGiven) {
  const OmpNumThreads omp("1");
  EXPECT_EQ(choose_threads(3, 0).threads, 3);
  EXPECT_EQ(choose_threads(64, 1).threads, 64);
}

TEST(Threads, AutoGivesSmallNetworksOneThread) {
  const OmpNumThreads omp(nullptr);
  EXPECT_EQ(choose_threads(0, 0).threads, 1);
  EXPECT_EQ(choose_threads(0, 66'370).threads, 1);  // the default experiment
  EXPECT_EQ(choose_threads(0, 2 * kMinSynapsesPerThread - 1).threads, 1);
}

TEST(Threads, AutoUsesTheCoresAvailableForLargeNetworks) {
  const OmpNumThreads omp(nullptr);
  const int cores = seqlearn::cores_available();
  ASSERT_GE(cores, 1);
  const auto huge = choose_threads(0, 1000 * kMinSynapsesPerThread);
  EXPECT_EQ(huge.threads, cores);
  EXPECT_NE(huge.why.find("cores"), std::string::npos) << huge.why;
  EXPECT_EQ(choose_threads(0, 2 * kMinSynapsesPerThread).threads, std::min(2, cores));
}

TEST(Threads, AutoRespectsOmpNumThreads) {
  const OmpNumThreads omp("1");
  const auto choice = choose_threads(0, 1000 * kMinSynapsesPerThread);
  EXPECT_EQ(choice.threads, 1);
  EXPECT_NE(choice.why.find("OMP_NUM_THREADS"), std::string::npos) << choice.why;
}

TEST(Threads, LaunchHintBindsThreadsToCores) {
  const std::string hint = seqlearn::launch_hint(4, 2);
  EXPECT_NE(hint.find("mpirun -n 4 --map-by slot:PE=2 --bind-to core"), std::string::npos) << hint;
  EXPECT_NE(hint.find("--cpus-per-task=2"), std::string::npos) << hint;
}
