// The one door to inter-process communication (cf. Arbor's distributed_context).
//
// The simulator talks to other ranks only through this interface: one spike exchange per
// exchange interval (docs/design.md principle 3) and a few small reductions at set-up and at the
// end. `make_local_communicator()` is a single-process implementation used by the serial
// tests and by reference runs inside the MPI tests; `make_mpi_communicator()` duplicates
// MPI_COMM_WORLD. Only src/communicator_mpi.cpp includes <mpi.h>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace seqlearn {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Concatenation of every rank's `local` in rank order (an Allgather(v)). Called by all
  // ranks. The spike exchange of the step loop: `all` is reused, so the hot path allocates
  // nothing, and the collective's slot size follows the exchange's sizes.
  virtual void all_gather(const std::vector<std::uint64_t>& local,
                          std::vector<std::uint64_t>& all) = 0;
  // The same for set-up gathers of any size (an Allgather of the counts, then an Allgatherv):
  // they leave the exchange's slot size alone, which a large one would inflate for the rest
  // of the run (every exchange would then send that many bytes).
  virtual std::vector<std::uint64_t> all_gather(const std::vector<std::uint64_t>& local) = 0;

  // The directed spike exchange's neighbourhood, fixed at set-up (collective): this rank
  // receives from `sources` and sends to `destinations` (ranks, ascending; itself included if
  // it talks to itself). With MPI a distributed graph communicator, so that an exchange costs
  // per neighbour, not per rank (MPI_Dist_graph_create_adjacent).
  virtual void set_neighbourhood(const std::vector<int>& sources,
                                 const std::vector<int>& destinations) = 0;
  // Sends send[first_i, first_i + counts[i]) to destinations[i] (first_i: the sum of the counts
  // before i) and returns in `received` what the sources sent to this rank, in the order of
  // `sources` (MPI_Neighbor_alltoall of the counts, then MPI_Neighbor_alltoallv). Called by
  // all ranks; `received` is reused as in all_gather.
  virtual void neighbour_exchange(const std::vector<std::uint64_t>& send,
                                  const std::vector<int>& counts,
                                  std::vector<std::uint64_t>& received) = 0;

  virtual double max(double value) = 0;
  virtual double sum(double value) = 0;
  virtual std::uint64_t sum(std::uint64_t value) = 0;
  virtual std::uint64_t max(std::uint64_t value) = 0;
  virtual void barrier() = 0;

  // Ends the whole job at once (MPI_Abort): for errors on one rank that the others cannot
  // know about, so that no rank waits forever in a collective.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // Address of the underlying MPI_Comm, for parallel HDF5 only; nullptr for the local one.
  virtual const void* mpi_comm_handle() const = 0;

  // Bytes of this rank's data that all_gather and neighbour_exchange delivered to other ranks so
  // far (benchmark figure, comparable between the two: an all-gather's slot counts once per
  // other rank, whatever algorithm MPI uses; nothing is counted on one rank).
  virtual std::uint64_t bytes_sent() const = 0;
};

// Where this rank's `count` items start when all ranks' items are concatenated in rank order,
// and the total (collective).
std::pair<std::uint64_t, std::uint64_t> offset_in_concatenation(Communicator& comm,
                                                                std::uint64_t count);

// A rank's pieces of a 1-D sequence in global order (an output dataset): piece i is elements
// [offsets[i], offsets[i] + counts[i]) of `total`, ascending and not overlapping.
struct Slices {
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> counts;
  std::uint64_t total = 0;
  std::uint64_t local() const;  // the sum of the counts
};

// Where this rank's pieces go when every rank's pieces are laid end to end in the order of
// their keys (ascending on each rank, unique over all ranks), with `counts[i]` elements for
// piece `keys[i]` (collective). One piece per rank, keyed by rank: offset_in_concatenation.
Slices slices_in_key_order(Communicator& comm, const std::vector<std::uint64_t>& keys,
                           const std::vector<std::uint64_t>& counts);

std::unique_ptr<Communicator> make_local_communicator();

// Needs an initialised MPI (see MpiSession). Duplicates MPI_COMM_WORLD so that the
// simulator's traffic never mixes with anyone else's.
std::unique_ptr<Communicator> make_mpi_communicator();

// RAII for MPI_Init_thread / MPI_Finalize (funneled: only the main thread communicates).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  static int world_rank();
};

}  // namespace seqlearn
