// The spike exchange of one rank (docs/design.md 3): the words it sends at the end of an
// exchange interval (its neurons' spikes, and the control words that must reach every rank in
// the same interval: a stop request, a divergence report), the one collective, and the decoded
// words of every rank. The step loop talks to other ranks through it alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/exchange_word.hpp"

namespace seqlearn {

// The dynamics produced a non-finite potential, rate or weight. Every rank throws it at the
// same exchange (the report travels with the spikes), with the same message.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SpikeExchange {
 public:
  explicit SpikeExchange(Communicator& comm) : comm_(comm) {}

  // Local neuron spike at `step_offset` steps into the interval (serial part only).
  void post_spike(std::int64_t step_offset, std::uint64_t circuit, std::uint32_t position) {
    outgoing_.push_back(ExchangeWord::spike(step_offset, circuit, position).bits());
  }

  // Asks every rank to stop after the next exchange. Async-signal-safe.
  void request_stop() { stop_requested_.store(true); }
  // Some rank asked to stop in an exchange so far: every rank learns it in the same one.
  bool stop_agreed() const { return stop_agreed_; }

  // Keeps the first non-finite value seen on this rank (earliest step, then lowest neuron);
  // the next exchange reports it to every rank. Safe from any thread.
  void note_divergence(std::int64_t step, std::uint64_t neuron);

  // The collective of an interval of `interval_steps` steps: sends the posted words and the
  // control words, and returns every rank's spikes in step order (then rank order, then as
  // posted: global neuron order). Throws DivergenceError, on every rank alike, if any rank
  // reported one. Adds its wall time to `wall_s` and, on more than one rank, its CPU time to
  // `cpu_s` (waiting in a collective may burn CPU: that is not compute).
  const ReceivedExchange& exchange(std::int64_t interval_steps, double& wall_s, double& cpu_s);

  // The ranks taking part, and what this rank sent so far (benchmark figures).
  const Communicator& communicator() const { return comm_; }

 private:
  Communicator& comm_;
  std::vector<std::uint64_t> outgoing_;  // ExchangeWords: local spikes, control words
  std::vector<std::uint64_t> incoming_;  // every rank's, as the collective returned them
  ReceivedExchange received_;            // incoming_ decoded
  std::atomic<bool> stop_requested_{false};
  bool stop_agreed_ = false;
  std::mutex divergence_mutex_;
  std::optional<Divergence> divergence_;
};

}  // namespace seqlearn
