// What a run needs before it starts: memory per rank and disk space, estimated and checked
// on every rank with a shared verdict (src/estimates.cpp; part of seqlearn_mpi, not of the
// libraries).
#pragma once

#include <string>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/simulator.hpp"

namespace seqlearn {

// Memory is known before the network is built: synapses (24 bytes each at least: weight, mean
// and second moment), km2013's table of circuit pairs, the frozen input patterns and their
// presentation buffers, and what rank 0 records per step. A run that cannot fit is refused
// with exit 2, naming the key of its largest part and the estimate (D12, D14, D19); these are
// lower bounds, so a run near the limit may still run out, and then the message of
// main()'s bad_alloc handler repeats the estimate.
struct MemoryNeed {
  double bytes = 0;      // per rank, the largest rank (rank 0 records the inputs)
  double largest = 0;    // its largest part
  std::string key;       // the key that sets it
  std::string what;      // what it is
  double available = 0;  // per rank, the smallest over the ranks
  std::string available_why;
};

// Refuses (ConfigError, on every rank) a run whose estimated memory exceeds what some rank
// has; `estimate` holds the estimate before it does (main's out-of-memory message repeats it).
void check_memory(const Config& config, Communicator& comm, MemoryNeed& estimate);

// Refuses (ConfigError, on every rank) a run whose output and checkpoint would not fit on the
// disk, estimated from the built (or restored) network.
void check_space(const Config& config, const Simulator& simulator, Communicator& comm);

// "1.23 GB" or "456.7 MB", for messages.
std::string gigabytes(double bytes);

}  // namespace seqlearn
