// A rank's OpenMP thread team for the step loop (docs/parallel.md): how many threads, which
// local circuits each owns, and one slot per thread for the buffers only it writes. The step
// loop is handed the thread id (run()); nothing else asks OpenMP who it is. Results do not
// depend on the team's size (docs/design.md principle 1).
#pragma once

#include <omp.h>

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqlearn/threads.hpp"

namespace seqlearn {

// A recurrent synaptic event waiting in deliver_by_circuit: row position and amplitude.
struct PendingEvent {
  std::uint64_t position;
  double amplitude;
};

// What one thread writes alone.
struct ThreadSlot {
  // Its copy of the sources' EPSP traces (M1, M6) when every thread advances every source
  // (thread 0 then uses the sources' own; empty when the team shares the sources out).
  std::vector<double> trace_decay, trace_rise, epsp;
  std::vector<double> uniforms;            // its neurons' M5 uniforms, this step's
  std::vector<std::uint32_t> event_begin;  // deliver_by_circuit: its events by circuit
  std::vector<PendingEvent> events;
};

class ThreadTeam {
 public:
  // With fewer sources than this, a thread's share of M1 and M6 saves less than the barrier
  // and the cache lines passed between cores cost: every thread then advances all sources, on
  // a copy of its own.
  static constexpr std::size_t kSharedSourcesMin = 4096;

  // `circuit_work` per local circuit, `circuit_neurons` its first local neuron (+ 1 past the
  // last). Threads own contiguous circuits of about equal work. Throws ConfigError when
  // OMP_THREAD_LIMIT allows fewer threads than chosen.
  ThreadTeam(ThreadChoice choice, CoreShare share, const std::vector<double>& circuit_work,
             const std::vector<std::uint64_t>& circuit_neurons, std::size_t n_sources);

  int size() const { return static_cast<int>(slots_.size()); }
  // Thread t's local circuits: [circuit_begin(t), circuit_begin(t + 1)).
  std::int64_t circuit_begin(std::size_t t) const { return circuit_begin_[t]; }
  bool shares_sources() const { return shares_sources_; }
  ThreadSlot& slot(std::size_t t) { return slots_[t]; }
  const ThreadChoice& choice() const { return choice_; }
  const CoreShare& core_share() const { return core_share_; }

  // Runs body(t) on every thread t of the team, in one parallel region (none for a team of
  // one: the work-sharing constructs inside `body` are then orphaned and cost nothing, where
  // a team of one still enters the kernel at every barrier to wake nobody). `failure` gets an
  // error if OpenMP gives another number of threads; `body` must check it after a barrier.
  template <class Body>
  void run(std::exception_ptr& failure, Body&& body) {
    if (size() == 1) {
      body(std::size_t{0});
      return;
    }
#pragma omp parallel num_threads(size())
    {
#pragma omp single
      if (omp_get_num_threads() != size())
        failure = std::make_exception_ptr(std::runtime_error(
            "OpenMP gave " + std::to_string(omp_get_num_threads()) + " threads instead of " +
            std::to_string(size()) + " (OMP_THREAD_LIMIT?); set --threads accordingly"));
      body(static_cast<std::size_t>(omp_get_thread_num()));
    }
  }

 private:
  ThreadChoice choice_;
  CoreShare core_share_;
  std::vector<std::int64_t> circuit_begin_;  // size threads + 1
  bool shares_sources_ = false;
  std::vector<ThreadSlot> slots_;
};

}  // namespace seqlearn
