#include <cstdlib>

#include "seqlearn/communicator.hpp"

namespace seqlearn {
namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<std::uint64_t> all_gather(const std::vector<std::uint64_t>& local) override {
    return local;
  }
  double max(double value) override { return value; }
  double sum(double value) override { return value; }
  std::uint64_t sum(std::uint64_t value) override { return value; }
  std::uint64_t max(std::uint64_t value) override { return value; }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
  const void* mpi_comm_handle() const override { return nullptr; }
  std::uint64_t bytes_sent() const override { return 0; }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace seqlearn
