// How many OpenMP threads a rank runs (docs/parallel.md). Results do not depend on it
// (docs/design.md principle 1); speed does: a thread needs a core of its own, and enough work
// per step to pay for waking it.
#pragma once

#include <cstdint>
#include <string>

namespace seqlearn {

// The cores this process may run on (its CPU affinity mask, as set by mpirun's binding or
// SLURM's --cpus-per-task, or the processors of its OpenMP places when OMP_PLACES or
// OMP_PROC_BIND are set); the machine's processor count if the mask cannot be read.
int cores_available();

// Synapses per thread below which a thread costs more than it gains: with fewer, the work
// of a 1 ms step is a few microseconds, the order of synchronising threads. Measured on 16
// cores, one rank, each thread on a core of its own (bench/README.md, "On 16 cores"): 2
// threads give 2.1x on 16x16 (340 000 synapses: 170 000 per thread) and 4 threads still 9 %
// more; the default 10x5 (66 370) gains nothing from a second thread.
constexpr std::uint64_t kMinSynapsesPerThread = 100'000;

struct ThreadChoice {
  int threads = 1;
  std::string why;  // how the count was chosen, for the summary line
};

// `requested` > 0 is taken as given. 0 (auto): the cores available, capped by OMP_NUM_THREADS
// when it is set, and by one thread per kMinSynapsesPerThread local synapses (at least 1).
ThreadChoice choose_threads(int requested, std::uint64_t local_synapses);

// The launch line that gives every rank `threads` cores, for the warning when a rank has
// fewer cores than threads.
std::string launch_hint(int ranks, int threads);

}  // namespace seqlearn
