// What seqlearn_mpi says about a run (src/report.cpp; part of the program, not of the
// libraries): progress on rank 0 while it runs, then the figures stored in /run and the
// summary with its one-line "bench:" record (bench/, docs/performance.md read it).
#pragma once

#include <cstdint>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/output.hpp"
#include "seqlearn/simulator.hpp"

namespace seqlearn {

// One progress line on stderr: percent done, model time, real-time factor, ETA.
void print_progress(std::int64_t done, std::int64_t total, double dt_ms, double wall_s);

// Wall-clock times of the run's stages, the largest over the ranks.
struct RunTimes {
  double build_s = 0;
  double simulate_s = 0;
};

// The figures of the run for /run (collective: every rank calls it).
RunInfo collect_run_info(const Simulator& simulator, Communicator& comm, const RunTimes& times,
                         bool stopped, double prior_learning_steps);

// The summary on rank 0's stdout, ending with the "bench:" line (collective: every rank calls
// it, for the peak memory).
void print_summary(const Config& config, const Simulator& simulator, Communicator& comm,
                   const RunInfo& info, double output_s, bool stopped);

}  // namespace seqlearn
