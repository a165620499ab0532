// The only file that includes <mpi.h>.
#include <mpi.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "seqlearn/communicator.hpp"

namespace seqlearn {
namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw std::runtime_error(std::string("MPI call failed: ") + what);
}

// Where each part of counts' lengths starts when they follow each other (MPI's displacements),
// into `displs` (reused: no allocation per exchange). Returns the total.
int displacements(const std::vector<int>& counts, std::vector<int>& displs) {
  displs.assign(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) displs[i] = displs[i - 1] + counts[i - 1];
  return counts.empty() ? 0 : displs.back() + counts.back();
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    if (graph_ != MPI_COMM_NULL) MPI_Comm_free(&graph_);
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // One MPI_Allgather of fixed-size slots [count, items...] per call. Only when some rank has
  // more items than a slot holds does a second collective (Allgatherv with the now known
  // counts) follow, and the slot grows so that it rarely happens again (NEST does the same).
  void all_gather(const std::vector<std::uint64_t>& local,
                  std::vector<std::uint64_t>& all) override {
    const std::size_t slot = capacity_ + 1;
    send_.assign(slot, 0);
    send_[0] = local.size();
    std::copy_n(local.begin(), std::min(local.size(), capacity_), send_.begin() + 1);
    receive_.resize(slot * static_cast<std::size_t>(size_));
    check(MPI_Allgather(send_.data(), static_cast<int>(slot), MPI_UINT64_T, receive_.data(),
                        static_cast<int>(slot), MPI_UINT64_T, comm_),
          "MPI_Allgather");
    bytes_sent_ += slot * sizeof(std::uint64_t) * static_cast<std::size_t>(size_ - 1);

    std::vector<int>& counts = counts_;
    counts.assign(static_cast<std::size_t>(size_), 0);
    std::size_t largest = 0;
    for (int r = 0; r < size_; ++r) {
      const auto count = receive_[static_cast<std::size_t>(r) * slot];
      counts[static_cast<std::size_t>(r)] = static_cast<int>(count);
      largest = std::max<std::size_t>(largest, count);
    }
    all.clear();
    if (largest <= capacity_) {
      for (int r = 0; r < size_; ++r) {
        const auto* begin = receive_.data() + static_cast<std::size_t>(r) * slot + 1;
        all.insert(all.end(), begin, begin + counts[static_cast<std::size_t>(r)]);
      }
      return;
    }
    gather_parts(local, counts, all);
    bytes_sent_ += local.size() * sizeof(std::uint64_t) * static_cast<std::size_t>(size_ - 1);
    capacity_ = std::max(2 * capacity_, largest);
  }

  std::vector<std::uint64_t> all_gather(const std::vector<std::uint64_t>& local) override {
    const std::uint64_t count = local.size();
    std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&count, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, comm_),
          "MPI_Allgather");
    const std::vector<int> counts(sizes.begin(), sizes.end());
    std::vector<std::uint64_t> all;
    gather_parts(local, counts, all);
    return all;
  }

  void set_neighbourhood(const std::vector<int>& sources,
                         const std::vector<int>& destinations) override {
    if (graph_ != MPI_COMM_NULL) MPI_Comm_free(&graph_);
    sources_ = sources;
    destinations_ = destinations;
    check(MPI_Dist_graph_create_adjacent(comm_, static_cast<int>(sources.size()), sources.data(),
                                         MPI_UNWEIGHTED, static_cast<int>(destinations.size()),
                                         destinations.data(), MPI_UNWEIGHTED, MPI_INFO_NULL, 0,
                                         &graph_),
          "MPI_Dist_graph_create_adjacent");
  }

  void neighbour_exchange(const std::vector<std::uint64_t>& send, const std::vector<int>& counts,
                          std::vector<std::uint64_t>& received) override {
    if (graph_ == MPI_COMM_NULL)
      throw std::logic_error("neighbour_exchange before set_neighbourhood");
    receive_counts_.assign(sources_.size(), 0);
    check(MPI_Neighbor_alltoall(counts.data(), 1, MPI_INT, receive_counts_.data(), 1, MPI_INT,
                                graph_),
          "MPI_Neighbor_alltoall");
    displacements(counts, send_displs_);
    received.resize(static_cast<std::size_t>(displacements(receive_counts_, receive_displs_)));
    check(MPI_Neighbor_alltoallv(send.data(), counts.data(), send_displs_.data(), MPI_UINT64_T,
                                 received.data(), receive_counts_.data(), receive_displs_.data(),
                                 MPI_UINT64_T, graph_),
          "MPI_Neighbor_alltoallv");
    // The words and the counts this rank delivers to the others (not to itself).
    for (std::size_t i = 0; i < destinations_.size(); ++i)
      if (destinations_[i] != rank_)
        bytes_sent_ += static_cast<std::uint64_t>(counts[i]) * sizeof(std::uint64_t) + sizeof(int);
  }

  double max(double value) override { return reduce(value, MPI_DOUBLE, MPI_MAX); }
  double sum(double value) override { return reduce(value, MPI_DOUBLE, MPI_SUM); }
  std::uint64_t sum(std::uint64_t value) override { return reduce(value, MPI_UINT64_T, MPI_SUM); }
  std::uint64_t max(std::uint64_t value) override { return reduce(value, MPI_UINT64_T, MPI_MAX); }
  void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier"); }
  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::abort();
  }
  const void* mpi_comm_handle() const override { return &comm_; }
  std::uint64_t bytes_sent() const override { return bytes_sent_; }

 private:
  // MPI_Allgatherv of every rank's `local`, whose lengths `counts` holds, into `all`.
  void gather_parts(const std::vector<std::uint64_t>& local, const std::vector<int>& counts,
                    std::vector<std::uint64_t>& all) {
    all.resize(static_cast<std::size_t>(displacements(counts, displs_)));
    check(MPI_Allgatherv(local.data(), static_cast<int>(local.size()), MPI_UINT64_T, all.data(),
                         counts.data(), displs_.data(), MPI_UINT64_T, comm_),
          "MPI_Allgatherv");
  }

  template <class T>
  T reduce(T value, MPI_Datatype type, MPI_Op op) {
    T result{};
    check(MPI_Allreduce(&value, &result, 1, type, op, comm_), "MPI_Allreduce");
    return result;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::size_t capacity_ = 15;
  std::vector<std::uint64_t> send_;
  std::vector<std::uint64_t> receive_;
  std::vector<int> counts_;
  std::vector<int> displs_;
  // The directed exchange's graph (neighbour_exchange) and its buffers.
  MPI_Comm graph_ = MPI_COMM_NULL;
  std::vector<int> sources_, destinations_;
  std::vector<int> receive_counts_, send_displs_, receive_displs_;
  std::uint64_t bytes_sent_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>();
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

int MpiSession::world_rank() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return 0;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace seqlearn
