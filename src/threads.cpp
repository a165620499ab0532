#include "seqlearn/threads.hpp"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <functional>
#include <string_view>

#include "seqlearn/communicator.hpp"

namespace seqlearn {

int cores_available() {
  // With OMP_PLACES or OMP_PROC_BIND set, the OpenMP runtime has already bound this (initial)
  // thread to its first place, so its own mask shows one place: count the places' processors,
  // which the runtime took from the process's mask before binding.
  int place_processors = 0;
  for (int p = 0; p < omp_get_num_places(); ++p) place_processors += omp_get_place_num_procs(p);
  if (place_processors > 0) return place_processors;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) return std::max(1, CPU_COUNT(&mask));
  return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

std::vector<std::uint64_t> this_placement() {
  std::vector<std::uint64_t> placement(1 + kPlacementWords, 0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  placement[0] = std::hash<std::string_view>{}(std::string_view(host));
  auto add = [&](int cpu) {
    if (cpu >= 0 && static_cast<std::size_t>(cpu) < kPlacementWords * 64)
      placement[1 + static_cast<std::size_t>(cpu) / 64] |= std::uint64_t{1} << (cpu % 64);
  };
  // As in cores_available(): with OpenMP places, this thread's own mask is its first place.
  for (int p = 0; p < omp_get_num_places(); ++p) {
    std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(p)));
    omp_get_place_proc_ids(p, ids.data());
    for (int id : ids) add(id);
  }
  if (omp_get_num_places() > 0) return placement;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &mask)) add(cpu);
  }
  return placement;
}

CoreShare share_cores(const std::vector<std::uint64_t>& placements, int rank, int fallback_cores) {
  constexpr std::size_t kWords = 1 + kPlacementWords;
  const std::uint64_t* mine = placements.data() + static_cast<std::size_t>(rank) * kWords;
  std::vector<std::uint64_t> together(kPlacementWords, 0);
  int own = 0;
  for (std::size_t w = 0; w < kPlacementWords; ++w) own += std::popcount(mine[1 + w]);
  CoreShare share{1, 0, 0, 0, 0, false};
  std::vector<std::uint64_t> node(kPlacementWords, 0);
  for (std::size_t r = 0; r < placements.size() / kWords; ++r) {
    const std::uint64_t* other = placements.data() + r * kWords;
    if (other[0] != mine[0]) continue;
    ++share.node_ranks;
    bool overlaps = false;
    for (std::size_t w = 0; w < kPlacementWords; ++w) {
      overlaps |= (other[1 + w] & mine[1 + w]) != 0;
      node[w] |= other[1 + w];
    }
    if (!overlaps && other != mine) continue;
    ++share.sharing_ranks;
    for (std::size_t w = 0; w < kPlacementWords; ++w) together[w] |= other[1 + w];
  }
  for (std::uint64_t word : node) share.node_cores += std::popcount(word);
  if (own == 0) return {fallback_cores, 1, fallback_cores, share.node_ranks, fallback_cores, false};
  for (std::uint64_t word : together) share.shared_cores += std::popcount(word);
  share.cores = std::clamp(share.shared_cores / share.sharing_ranks, 1, own);
  return share;
}

CoreShare core_share(Communicator& comm) {
  CoreShare share = share_cores(comm.all_gather(this_placement()), comm.rank(), cores_available());
  share.node_cores = std::max(share.node_cores, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  share.binds_threads = omp_get_proc_bind() != omp_proc_bind_false && omp_get_num_places() > 0;
  return share;
}

ThreadChoice choose_threads(int requested, std::uint64_t local_synapses) {
  const int cores = cores_available();
  return choose_threads(requested, local_synapses, CoreShare{cores, 1, cores});
}

ThreadChoice choose_threads(int requested, std::uint64_t local_synapses, const CoreShare& share) {
  if (requested > 0) return {requested, "as requested (--threads)"};
  ThreadChoice choice{std::min(share.cores, omp_get_thread_limit()),
                      share.sharing_ranks > 1
                          ? "auto: " + std::to_string(share.shared_cores) + " cores shared by " +
                                std::to_string(share.sharing_ranks) + " ranks"
                          : std::string("auto: the cores this rank may run on")};
  if (const char* text = std::getenv("OMP_NUM_THREADS")) {
    const int omp = std::atoi(text);
    if (omp > 0 && omp < choice.threads)
      choice = {omp, "auto: OMP_NUM_THREADS=" + std::to_string(omp)};
  }
  const auto by_work =
      static_cast<int>(std::max<std::uint64_t>(1, local_synapses / kMinSynapsesPerThread));
  if (by_work < choice.threads)
    choice = {by_work, "auto: one thread per " + std::to_string(kMinSynapsesPerThread / 1000) +
                           " thousand local synapses"};
  return choice;
}

std::string launch_hint(int ranks, int threads, const CoreShare& share) {
  const std::string r = std::to_string(ranks);
  auto line = [&](int t) {
    const std::string ts = std::to_string(t);
    return "mpirun -n " + r + " --map-by slot:PE=" + ts +
           " --bind-to core seqlearn_mpi --threads " + ts +
           " ... (Open MPI), or srun --ntasks=" + r + " --cpus-per-task=" + ts +
           " seqlearn_mpi --threads " + ts + " ... (SLURM); scripts/launch.sh " + r + " " + ts +
           " prints it";
  };
  const int node_ranks = std::max(share.node_ranks, 1);
  if (node_ranks * threads <= share.node_cores) return line(threads);
  const int fit = share.node_cores / node_ranks;
  const std::string room = "this node has " + std::to_string(share.node_cores) +
                           " processor(s) for its " + std::to_string(node_ranks) + " rank(s)";
  if (fit >= 1)
    return room + ", so at most " + std::to_string(fit) + " thread(s) each: " + line(fit) +
           "; or ask for " + std::to_string(node_ranks * threads) + " processors per node";
  return room + ": put fewer ranks on a node, or run 1 thread per rank (scripts/launch.sh " + r +
         " 1 prints the oversubscribed line)";
}

}  // namespace seqlearn
