// GoogleTest main for the MPI tests: MPI is initialised once for all tests and only rank 0
// prints, but a failure on any rank is reported by rank 0 and fails the test on every rank.
//
// RankFailureListener records, on every rank, each failed assertion of the running test. At
// the end of every test (OnTestEnd, which every rank reaches for every test in the same order:
// all ranks run the same test list) the ranks exchange their records in one collective, and
// every rank adds the other ranks' failures to its own result of that test as
//   [rank R] FAILED Suite.Name: file.cpp:LINE: message
//   [rank R]   further lines of the message
// so that rank 0's printer shows them (and lists the test under FAILED), any --gtest_output
// file of rank 0 holds them, and RUN_ALL_TESTS() returns non-zero on every rank. A final
// reduction makes the exit code non-zero on every rank if any rank saw any failure (also one
// outside a test, e.g. in a SetUpTestSuite), so that mpirun returns non-zero.
// MPI is used through seqlearn::Communicator only (only src/communicator_mpi.cpp includes
// <mpi.h>): strings travel as 64-bit words through all_gather.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "seqlearn/communicator.hpp"

namespace {

// Strings <-> words: [n_strings, (n_bytes, ceil(n_bytes / 8) words of bytes)...].
void append_string(std::vector<std::uint64_t>& words, const std::string& s) {
  words.push_back(s.size());
  const std::size_t first = words.size();
  words.resize(first + (s.size() + 7) / 8, 0);
  if (!s.empty()) std::memcpy(words.data() + first, s.data(), s.size());
}

std::vector<std::uint64_t> encode(const std::vector<std::string>& strings) {
  std::vector<std::uint64_t> words{strings.size()};
  for (const auto& s : strings) append_string(words, s);
  return words;
}

// Decodes one rank's block starting at `pos` and moves `pos` past it.
std::vector<std::string> decode(const std::vector<std::uint64_t>& words, std::size_t& pos) {
  std::vector<std::string> strings(words.at(pos++));
  for (auto& s : strings) {
    const std::size_t bytes = words.at(pos++);
    const std::size_t n_words = (bytes + 7) / 8;
    if (pos + n_words > words.size())
      throw std::runtime_error("mpi_main: truncated failure record");
    s.resize(bytes);
    if (bytes > 0) std::memcpy(s.data(), words.data() + pos, bytes);
    pos += n_words;
  }
  return strings;
}

class RankFailureListener final : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailureListener(seqlearn::Communicator& comm) : comm_(comm) {}

  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (injecting_ || !result.failed()) return;
    // Records of one failure: file, line, message (three strings each).
    records_.emplace_back(result.file_name() ? result.file_name() : "unknown file");
    records_.push_back(std::to_string(result.line_number()));
    records_.emplace_back(result.message());
    any_failure_ = true;
  }

  void OnTestEnd(const ::testing::TestInfo& test) override {
    const std::string name = std::string(test.test_suite_name()) + "." + test.name();
    const auto by_rank = exchange();
    injecting_ = true;
    for (std::size_t r = 0; r < by_rank.size(); ++r) {
      if (static_cast<int>(r) == comm_.rank()) continue;  // this rank's own are already there
      const auto& rec = by_rank[r];
      for (std::size_t i = 0; i + 2 < rec.size(); i += 3) {
        const std::string where = rec[i] + ":" + rec[i + 1];
        const int line = std::stoi(rec[i + 1]);
        // Every line of a multi-line message names the rank too.
        const std::string prefix = "[rank " + std::to_string(r) + "] ";
        std::string message = rec[i + 2];
        for (auto at = message.find('\n'); at != std::string::npos && at + 1 < message.size();
             at = message.find('\n', at + 1 + prefix.size() + 2))
          message.insert(at + 1, prefix + "  ");
        ADD_FAILURE_AT(rec[i].c_str(), line)
            << prefix << "FAILED " << name << ": " << where << ": " << message;
      }
    }
    injecting_ = false;
  }

  // Failures outside any test (environments, SetUpTestSuite): printed by rank 0 here.
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    const auto by_rank = exchange();
    if (comm_.rank() != 0) return;
    for (std::size_t r = 1; r < by_rank.size(); ++r)
      for (std::size_t i = 0; i + 2 < by_rank[r].size(); i += 3)
        std::printf("[rank %zu] FAILED outside a test: %s:%s: %s\n", r, by_rank[r][i].c_str(),
                    by_rank[r][i + 1].c_str(), by_rank[r][i + 2].c_str());
    std::fflush(stdout);
  }

  bool any_failure() const { return any_failure_; }

 private:
  // Every rank's records since the last exchange, by rank (collective).
  std::vector<std::vector<std::string>> exchange() {
    auto local = encode(records_);
    records_.clear();
    local.insert(local.begin(), local.size());  // each rank's block: [n_words, words...]
    const auto all = comm_.all_gather(local);
    std::vector<std::vector<std::string>> by_rank(static_cast<std::size_t>(comm_.size()));
    std::size_t pos = 0;
    for (auto& rec : by_rank) {
      const std::size_t end = pos + 1 + all.at(pos);
      ++pos;
      rec = decode(all, pos);
      pos = end;
    }
    return by_rank;
  }

  seqlearn::Communicator& comm_;
  std::vector<std::string> records_;
  bool injecting_ = false;
  bool any_failure_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  seqlearn::MpiSession mpi(&argc, &argv);
  int code = 0;
  {
    ::testing::InitGoogleTest(&argc, argv);
    auto comm = seqlearn::make_mpi_communicator();  // freed before MPI_Finalize
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    if (comm->rank() != 0) delete listeners.Release(listeners.default_result_printer());
    auto* listener = new RankFailureListener(*comm);  // owned by GoogleTest from here on
    listeners.Append(listener);
    code = RUN_ALL_TESTS();
    const bool failed = code != 0 || listener->any_failure();
    // GoogleTest never deletes its listeners before exit; detach ours from the communicator.
    delete listeners.Release(listener);
    code = comm->max(std::uint64_t{failed}) != 0 ? 1 : 0;
  }
  return code;
}
