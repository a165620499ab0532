// How many OpenMP threads a rank runs (docs/parallel.md). Results do not depend on it
// (docs/design.md principle 1); speed does: a thread needs a core of its own, and enough work
// per step to pay for waking it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqlearn {

class Communicator;

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

// The cores a rank can count on. Its affinity may overlap other ranks' on the same node
// (mpirun --bind-to none, or Open MPI's socket binding when ranks > 2, gives every rank all
// the node's or socket's cores; --map-by slot:PE=T --bind-to core gives each T of its own):
// those ranks then share the cores of their affinities evenly.
struct CoreShare {
  int cores = 1;          // this rank's share: shared_cores / sharing_ranks, at least 1
  int sharing_ranks = 1;  // ranks on this node whose affinity overlaps this rank's, itself too
  int shared_cores = 1;   // the processors those ranks may run on together
  int node_ranks = 1;     // ranks on this node
  int node_cores = 1;     // processors the node's ranks were launched on (their allocation)
  // Ranks on this node whose threads start on this rank's first OpenMP place, itself too, when
  // OpenMP binds threads (OMP_PROC_BIND, or OMP_PLACES alone) and there are more of them than
  // the place has processors; else 0. Unbound ranks under OMP_PLACES=cores all start there.
  int piled_ranks = 0;
};

// Where a rank runs, as core_share() gathers it, kPlacementWords words: a hash of the host
// name, then three sets of processor ids (kMaskWords words each; ids beyond are left out):
// the processors it may run on (its affinity, or its OpenMP places' processors), those of its
// allocation (its own and its launcher's, the parent process's: mpirun's or the daemon's
// affinity, before any binding), and its threads' first OpenMP place when OpenMP binds them
// (else empty).
constexpr std::size_t kMaskWords = 16;
constexpr std::size_t kPlacementWords = 1 + 3 * kMaskWords;
std::vector<std::uint64_t> this_placement();

// Rank `rank`'s share, from every rank's this_placement() concatenated in rank order (pure,
// for the tests); `fallback_cores` alone when the rank's affinity is unknown (empty).
CoreShare share_cores(const std::vector<std::uint64_t>& placements, int rank, int fallback_cores);

// This rank's share: this_placement() gathered from every rank of `comm` (collective).
CoreShare core_share(Communicator& comm);

struct ThreadChoice {
  int threads = 1;
  std::string why;  // how the count was chosen, for the summary line
};

// `requested` > 0 is taken as given. 0 (auto): this rank's share of the cores (`share`;
// without it, the cores available to it), capped by OMP_THREAD_LIMIT and OMP_NUM_THREADS when
// they are set, and by one thread per kMinSynapsesPerThread local synapses (at least 1).
ThreadChoice choose_threads(int requested, std::uint64_t local_synapses, const CoreShare& share);
ThreadChoice choose_threads(int requested, std::uint64_t local_synapses);

// What to do instead, for the warnings, as a clause ("launch with: ..."): the line that gives
// each of `ranks` ranks `threads` cores of its own when the node (`share`: its ranks and
// processors) has room for them, else the most threads that fit, else advice.
std::string launch_hint(int ranks, int threads, const CoreShare& share);

}  // namespace seqlearn
