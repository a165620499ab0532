#include "seqlearn/threads.hpp"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

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

ThreadChoice choose_threads(int requested, std::uint64_t local_synapses) {
  if (requested > 0) return {requested, "as requested (--threads)"};
  ThreadChoice choice{std::min(cores_available(), omp_get_thread_limit()),
                      "auto: the cores this rank may run on"};
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

std::string launch_hint(int ranks, int threads) {
  const std::string r = std::to_string(ranks);
  const std::string t = std::to_string(threads);
  return "mpirun -n " + r + " --map-by slot:PE=" + t + " --bind-to core seqlearn_mpi --threads " +
         t + " ... (Open MPI), or srun --ntasks=" + r + " --cpus-per-task=" + t +
         " seqlearn_mpi --threads " + t + " ... (SLURM); scripts/launch.sh prints it";
}

}  // namespace seqlearn
