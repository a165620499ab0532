#include <algorithm>
#include <cstdlib>

#include "seqlearn/communicator.hpp"

namespace seqlearn {
namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_gather(const std::vector<std::uint64_t>& local,
                  std::vector<std::uint64_t>& all) override {
    all = local;
  }
  std::vector<std::uint64_t> all_gather(const std::vector<std::uint64_t>& local) override {
    return local;
  }
  void set_neighbourhood(const std::vector<int>& sources,
                         const std::vector<int>& destinations) override {
    talks_to_itself_ = !sources.empty() && !destinations.empty();
  }
  void neighbour_exchange(const std::vector<std::uint64_t>& send, const std::vector<int>& counts,
                          std::vector<std::uint64_t>& received) override {
    received.clear();
    if (talks_to_itself_) received.assign(send.begin(), send.begin() + counts.at(0));
  }
  double max(double value) override { return value; }
  double sum(double value) override { return value; }
  std::uint64_t sum(std::uint64_t value) override { return value; }
  std::uint64_t max(std::uint64_t value) override { return value; }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
  const void* mpi_comm_handle() const override { return nullptr; }
  std::uint64_t bytes_sent() const override { return 0; }

 private:
  bool talks_to_itself_ = false;
};

}  // namespace

std::pair<std::uint64_t, std::uint64_t> offset_in_concatenation(Communicator& comm,
                                                                std::uint64_t count) {
  const auto counts = comm.all_gather({count});
  std::uint64_t offset = 0;
  std::uint64_t total = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (r < comm.rank()) offset += counts[static_cast<std::size_t>(r)];
    total += counts[static_cast<std::size_t>(r)];
  }
  return {offset, total};
}

std::uint64_t Slices::local() const {
  std::uint64_t sum = 0;
  for (const std::uint64_t count : counts) sum += count;
  return sum;
}

Slices slices_in_key_order(Communicator& comm, const std::vector<std::uint64_t>& keys,
                           const std::vector<std::uint64_t>& counts) {
  std::vector<std::uint64_t> mine;
  for (std::size_t i = 0; i < keys.size(); ++i) mine.insert(mine.end(), {keys[i], counts[i]});
  const std::vector<std::uint64_t> all = comm.all_gather(mine);  // (key, count) pairs
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pieces;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) pieces.emplace_back(all[i], all[i + 1]);
  std::sort(pieces.begin(), pieces.end());
  Slices slices;
  std::size_t next = 0;  // the next of this rank's keys (ascending)
  for (const auto& [key, count] : pieces) {
    if (next < keys.size() && key == keys[next]) {
      slices.offsets.push_back(slices.total);
      slices.counts.push_back(count);
      ++next;
    }
    slices.total += count;
  }
  return slices;
}

std::unique_ptr<Communicator> make_local_communicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace seqlearn
