// How a rank chooses its thread count (threads.hpp, docs/parallel.md).
#include <gtest/gtest.h>
#include <omp.h>

#include <cerrno>  // program_invocation_short_name (GNU)
#include <cstdlib>
#include <initializer_list>
#include <vector>

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
  seqlearn::CoreShare node;  // 4 ranks on a node of 8 processors
  node.node_ranks = 4;
  node.node_cores = 8;
  const std::string hint = seqlearn::launch_hint(4, 2, node);
  EXPECT_NE(hint.find("mpirun -n 4 --map-by slot:PE=2 --bind-to core"), std::string::npos) << hint;
  EXPECT_NE(hint.find("--cpus-per-task=2"), std::string::npos) << hint;
  EXPECT_NE(hint.find("scripts/launch.sh 4 2 prints it"), std::string::npos) << hint;
  // It names the program that runs (one built with plug-ins must be launched again, not
  // seqlearn_mpi): here the test program.
  const std::string program = program_invocation_short_name;
  EXPECT_NE(hint.find("--bind-to core " + program + " --threads 2"), std::string::npos) << hint;
  EXPECT_NE(hint.find("--cpus-per-task=2 " + program + " --threads 2"), std::string::npos) << hint;
}

// The hint never names a line the node cannot run: with 4 threads per rank on 8 processors
// for 4 ranks it offers 2 threads each; with more ranks than processors, other advice.
TEST(Threads, LaunchHintFitsTheNode) {
  seqlearn::CoreShare node;
  node.node_ranks = 4;
  node.node_cores = 8;
  const std::string fewer = seqlearn::launch_hint(4, 4, node);
  EXPECT_NE(fewer.find("at most 2 thread(s) each"), std::string::npos) << fewer;
  EXPECT_NE(fewer.find("--map-by slot:PE=2 --bind-to core " +
                       std::string(program_invocation_short_name) + " --threads 2"),
            std::string::npos)
      << fewer;
  EXPECT_EQ(fewer.find("PE=4"), std::string::npos) << fewer;
  node.node_ranks = 3;
  node.node_cores = 2;
  const std::string crowded = seqlearn::launch_hint(3, 2, node);
  EXPECT_EQ(crowded.find("--map-by"), std::string::npos) << crowded;
  EXPECT_NE(crowded.find("put fewer ranks on it"), std::string::npos) << crowded;
}

namespace {

// One rank's entry as this_placement() makes it: host hash, then its processors, its
// allocation (by default the same) and its threads' first OpenMP place (by default none).
std::vector<std::uint64_t> placement(std::uint64_t host, std::initializer_list<int> cpus,
                                     std::initializer_list<int> allocation = {},
                                     std::initializer_list<int> first_place = {}) {
  std::vector<std::uint64_t> p(seqlearn::kPlacementWords, 0);
  p[0] = host;
  auto set = [&](std::size_t which, std::initializer_list<int> ids) {
    for (int cpu : ids)
      p[1 + which * seqlearn::kMaskWords + static_cast<std::size_t>(cpu) / 64] |= std::uint64_t{1}
                                                                                  << (cpu % 64);
  };
  set(0, cpus);
  set(1, allocation.size() > 0 ? allocation : cpus);
  set(2, first_place);
  return p;
}

std::vector<std::uint64_t> ranks(std::initializer_list<std::vector<std::uint64_t>> each) {
  std::vector<std::uint64_t> all;
  for (const auto& p : each) all.insert(all.end(), p.begin(), p.end());
  return all;
}

}  // namespace

TEST(Threads, RanksBoundToTheirOwnCoresShareNothing) {
  // mpirun -n 2 --map-by slot:PE=2 --bind-to core on 4 cores.
  const auto all = ranks({placement(7, {0, 1}), placement(7, {2, 3})});
  for (int r = 0; r < 2; ++r) {
    const auto share = seqlearn::share_cores(all, r, 99);
    EXPECT_EQ(share.cores, 2);
    EXPECT_EQ(share.sharing_ranks, 1);
    EXPECT_EQ(share.shared_cores, 2);
  }
}

TEST(Threads, UnboundRanksShareTheirCoresEvenly) {
  // mpirun -n 4 --bind-to none on 2 cores: half a core each, so 1 thread each.
  const auto all = ranks(
      {placement(7, {0, 1}), placement(7, {0, 1}), placement(7, {0, 1}), placement(7, {0, 1})});
  const auto share = seqlearn::share_cores(all, 2, 99);
  EXPECT_EQ(share.cores, 1);
  EXPECT_EQ(share.sharing_ranks, 4);
  EXPECT_EQ(share.shared_cores, 2);
  // 2 ranks on 16 unbound cores: 8 each.
  const auto two = ranks({placement(7, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}),
                          placement(7, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})});
  EXPECT_EQ(seqlearn::share_cores(two, 0, 99).cores, 8);
}

TEST(Threads, RanksOnOtherNodesOrDisjointCoresDoNotCount) {
  // Two nodes with the same processor ids, and a socket binding (ranks 2, 3 on cores 64-65).
  const auto all = ranks(
      {placement(1, {0, 1}), placement(2, {0, 1}), placement(1, {64, 65}), placement(1, {64, 65})});
  EXPECT_EQ(seqlearn::share_cores(all, 0, 99).cores, 2);
  EXPECT_EQ(seqlearn::share_cores(all, 1, 99).sharing_ranks, 1);
  const auto socket = seqlearn::share_cores(all, 3, 99);
  EXPECT_EQ(socket.cores, 1);
  EXPECT_EQ(socket.sharing_ranks, 2);
}

TEST(Threads, ShareNeverExceedsTheRanksOwnCores) {
  // Rank 0 may run on 1 core that overlaps rank 1's 4: the 5 cores shared by 2 would give 2.
  const auto all = ranks({placement(7, {0}), placement(7, {0, 1, 2, 3, 4})});
  EXPECT_EQ(seqlearn::share_cores(all, 0, 99).cores, 1);
  EXPECT_EQ(seqlearn::share_cores(all, 1, 99).cores, 2);
  // No affinity known (an empty set): the fallback, unshared.
  const auto unknown = ranks({placement(7, {}), placement(7, {0, 1})});
  EXPECT_EQ(seqlearn::share_cores(unknown, 0, 99).cores, 99);
}

TEST(Threads, AutoTakesTheSharedCoresAndSaysSo) {
  const OmpNumThreads omp(nullptr);
  const seqlearn::CoreShare share{3, 2, 6};
  const auto choice = choose_threads(0, 1000 * kMinSynapsesPerThread, share);
  EXPECT_EQ(choice.threads, std::min(3, omp_get_thread_limit()));
  EXPECT_NE(choice.why.find("6 cores shared by 2 ranks"), std::string::npos) << choice.why;
  EXPECT_EQ(choose_threads(4, 1, share).threads, 4);  // an explicit count stays
}

TEST(Threads, NodeCoresAreTheRanksAllocation) {
  // mpirun -n 2 --bind-to core on 4 processors: each rank bound to one, the launcher's 4.
  const auto all = ranks({placement(7, {0}, {0, 1, 2, 3}), placement(7, {1}, {0, 1, 2, 3})});
  const auto share = seqlearn::share_cores(all, 0, 99);
  EXPECT_EQ(share.cores, 1);
  EXPECT_EQ(share.node_ranks, 2);
  EXPECT_EQ(share.node_cores, 4);
  // taskset -c 1 around the launch: the allocation is that one processor.
  EXPECT_EQ(seqlearn::share_cores(ranks({placement(7, {1}, {1})}), 0, 99).node_cores, 1);
}

TEST(Threads, RanksStartingOnOneSmallPlacePileUp) {
  // OMP_PLACES=cores OMP_PROC_BIND=close with --bind-to none: both ranks start on {0}.
  const auto piled = ranks({placement(7, {0, 1}, {}, {0}), placement(7, {0, 1}, {}, {0})});
  EXPECT_EQ(seqlearn::share_cores(piled, 1, 99).piled_ranks, 2);
  // One place holding the whole node ({0:2}): the ranks spread over its processors.
  const auto wide = ranks({placement(7, {0, 1}, {}, {0, 1}), placement(7, {0, 1}, {}, {0, 1})});
  EXPECT_EQ(seqlearn::share_cores(wide, 0, 99).piled_ranks, 0);
  // Bound ranks start on places of their own; threads not bound: no first place.
  const auto bound = ranks({placement(7, {0}, {0, 1}, {0}), placement(7, {1}, {0, 1}, {1})});
  EXPECT_EQ(seqlearn::share_cores(bound, 0, 99).piled_ranks, 0);
  const auto unbound = ranks({placement(7, {0, 1}), placement(7, {0, 1})});
  EXPECT_EQ(seqlearn::share_cores(unbound, 0, 99).piled_ranks, 0);
}

TEST(Threads, RanksCrowdedOnPartOfTheirAllocation) {
  // mpirun -n 2 --cpu-set 0 on 2 processors: 2 ranks on 1 core, the other idle.
  const auto all = ranks({placement(7, {0}, {0, 1}), placement(7, {0}, {0, 1})});
  const auto share = seqlearn::share_cores(all, 0, 99);
  EXPECT_EQ(share.sharing_ranks, 2);
  EXPECT_EQ(share.shared_cores, 1);
  EXPECT_EQ(share.node_cores, 2);
  EXPECT_EQ(share.cores, 1);
}
