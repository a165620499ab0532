#include "seqlearn/threads.hpp"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>  // program_invocation_short_name (GNU)
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

namespace {

// The processor sets of a placement (see kPlacementWords).
enum class Set { affinity = 0, allocation = 1, first_place = 2 };

std::uint64_t* set_of(std::uint64_t* placement, Set set) {
  return placement + 1 + static_cast<std::size_t>(set) * kMaskWords;
}
const std::uint64_t* set_of(const std::uint64_t* placement, Set set) {
  return placement + 1 + static_cast<std::size_t>(set) * kMaskWords;
}

void add_processor(std::uint64_t* words, int cpu) {
  if (cpu >= 0 && static_cast<std::size_t>(cpu) < kMaskWords * 64)
    words[static_cast<std::size_t>(cpu) / 64] |= std::uint64_t{1} << (cpu % 64);
}

void add_place(std::uint64_t* words, int place) {
  std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(place)));
  omp_get_place_proc_ids(place, ids.data());
  for (int id : ids) add_processor(words, id);
}

void add_affinity(std::uint64_t* words, pid_t pid) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(pid, sizeof mask, &mask) != 0) return;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &mask)) add_processor(words, cpu);
}

int count(const std::uint64_t* words) {
  int n = 0;
  for (std::size_t w = 0; w < kMaskWords; ++w) n += std::popcount(words[w]);
  return n;
}

bool overlap(const std::uint64_t* a, const std::uint64_t* b) {
  for (std::size_t w = 0; w < kMaskWords; ++w)
    if ((a[w] & b[w]) != 0) return true;
  return false;
}

}  // namespace

std::vector<std::uint64_t> this_placement() {
  std::vector<std::uint64_t> placement(kPlacementWords, 0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  placement[0] = std::hash<std::string_view>{}(std::string_view(host));
  // As in cores_available(): with OpenMP places, this thread's own mask is its first place.
  std::uint64_t* affinity = set_of(placement.data(), Set::affinity);
  for (int p = 0; p < omp_get_num_places(); ++p) add_place(affinity, p);
  if (omp_get_num_places() == 0) add_affinity(affinity, 0);
  std::uint64_t* allocation = set_of(placement.data(), Set::allocation);
  std::copy(affinity, affinity + kMaskWords, allocation);
  add_affinity(allocation, getppid());
  if (omp_get_proc_bind() != omp_proc_bind_false && omp_get_num_places() > 0)
    add_place(set_of(placement.data(), Set::first_place), 0);
  return placement;
}

CoreShare share_cores(const std::vector<std::uint64_t>& placements, int rank, int fallback_cores) {
  const std::uint64_t* mine = placements.data() + static_cast<std::size_t>(rank) * kPlacementWords;
  const int own = count(set_of(mine, Set::affinity));
  const int first_place = count(set_of(mine, Set::first_place));
  std::vector<std::uint64_t> together(kMaskWords, 0), node(kMaskWords, 0);
  CoreShare share{1, 0, 0, 0, 0, 0};
  int starting_here = 0;  // ranks whose threads start on this rank's first place
  for (std::size_t r = 0; r < placements.size() / kPlacementWords; ++r) {
    const std::uint64_t* other = placements.data() + r * kPlacementWords;
    if (other[0] != mine[0]) continue;
    ++share.node_ranks;
    for (std::size_t w = 0; w < kMaskWords; ++w) node[w] |= set_of(other, Set::allocation)[w];
    if (first_place > 0 && overlap(set_of(other, Set::first_place), set_of(mine, Set::first_place)))
      ++starting_here;
    if (other != mine && !overlap(set_of(other, Set::affinity), set_of(mine, Set::affinity)))
      continue;
    ++share.sharing_ranks;
    for (std::size_t w = 0; w < kMaskWords; ++w) together[w] |= set_of(other, Set::affinity)[w];
  }
  share.node_cores = std::max(count(node.data()), 1);
  share.piled_ranks = starting_here > first_place ? starting_here : 0;
  if (own == 0) {  // no affinity known
    share.cores = share.shared_cores = fallback_cores;
    share.sharing_ranks = 1;
    share.node_cores = std::max(share.node_cores, fallback_cores);
    return share;
  }
  share.shared_cores = count(together.data());
  share.cores = std::clamp(share.shared_cores / share.sharing_ranks, 1, own);
  return share;
}

CoreShare core_share(Communicator& comm) {
  return share_cores(comm.all_gather(this_placement()), comm.rank(), cores_available());
}

ThreadChoice choose_threads(int requested, std::uint64_t local_synapses) {
  const int cores = cores_available();
  return choose_threads(requested, local_synapses, CoreShare{cores, 1, cores});
}

ThreadChoice choose_threads(int requested, std::uint64_t local_synapses, const CoreShare& share) {
  if (requested > 0) return {requested, "as requested (--threads)"};
  ThreadChoice choice{share.cores, share.sharing_ranks > 1
                                       ? "auto: " + std::to_string(share.shared_cores) +
                                             " cores shared by " +
                                             std::to_string(share.sharing_ranks) + " ranks"
                                       : std::string("auto: the cores this rank may run on")};
  if (omp_get_thread_limit() < choice.threads)
    choice = {omp_get_thread_limit(),
              "auto: OMP_THREAD_LIMIT=" + std::to_string(omp_get_thread_limit())};
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
  // The program that runs: one built with plug-ins (docs/extending.md) must be launched again.
  const std::string program = program_invocation_short_name;
  auto line = [&](int t) {
    const std::string ts = std::to_string(t);
    return "mpirun -n " + r + " --map-by slot:PE=" + ts + " --bind-to core " + program +
           " --threads " + ts + " ... (Open MPI), or srun --ntasks=" + r +
           " --cpus-per-task=" + ts + " " + program + " --threads " + ts +
           " ... (SLURM); scripts/launch.sh " + r + " " + ts + " prints it";
  };
  const int node_ranks = std::max(share.node_ranks, 1);
  if (node_ranks * threads <= share.node_cores) return "launch with: " + line(threads);
  const int fit = share.node_cores / node_ranks;
  const std::string room = "this node has " + std::to_string(share.node_cores) +
                           " processor(s) for its " + std::to_string(node_ranks) + " rank(s)";
  if (fit >= 1)
    return room + ", so at most " + std::to_string(fit) +
           " thread(s) each: launch with: " + line(fit) + "; or ask for " +
           std::to_string(node_ranks * threads) + " processors per node";
  return room +
         ": put fewer ranks on it, or run them oversubscribed with 1 thread each and "
         "OMP_PROC_BIND=false (scripts/launch.sh " +
         r + " 1 prints that line)";
}

}  // namespace seqlearn
