#include "seqlearn/thread_team.hpp"

#include "seqlearn/config.hpp"
#include "seqlearn/partition.hpp"

namespace seqlearn {

ThreadTeam::ThreadTeam(ThreadChoice choice, CoreShare share,
                       const std::vector<double>& circuit_work,
                       const std::vector<std::uint64_t>& circuit_neurons, std::size_t n_sources)
    : choice_(std::move(choice)), core_share_(share) {
  const int n_threads = choice_.threads;
  if (n_threads > omp_get_thread_limit())
    throw ConfigError("invalid value '" + std::to_string(n_threads) +
                      "' for run.threads: OMP_THREAD_LIMIT allows at most " +
                      std::to_string(omp_get_thread_limit()) + " thread(s)");
  omp_set_dynamic(0);  // every parallel region gets exactly size() threads (run())
  circuit_begin_ = balanced_partition(circuit_work, n_threads);
  shares_sources_ = n_threads > 1 && n_sources >= kSharedSourcesMin;
  slots_.resize(static_cast<std::size_t>(n_threads));
  for (std::size_t t = 0; t < slots_.size(); ++t)
    slots_[t].uniforms.resize(circuit_neurons[static_cast<std::size_t>(circuit_begin_[t + 1])] -
                              circuit_neurons[static_cast<std::size_t>(circuit_begin_[t])]);
}

}  // namespace seqlearn
