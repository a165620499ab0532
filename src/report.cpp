// The run's report (report.hpp): progress, the figures of /run, the summary and bench line.
#include "report.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>  // program_invocation_short_name (GNU)
#include <cstdio>

#include "seqlearn/version.hpp"

namespace seqlearn {
namespace {

double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

}  // namespace

void print_progress(std::int64_t done, std::int64_t total, double dt_ms, double wall_s) {
  const double simulated_s = static_cast<double>(done) * dt_ms * 1e-3;
  const double rtf = simulated_s > 0 ? wall_s / simulated_s : 0.0;
  const double eta =
      done > 0 ? wall_s * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
  std::fprintf(stderr, "%s: %5.1f%%  %.1f of %.1f s simulated  real-time factor %.4f  ETA %.0f s\n",
               program_invocation_short_name,
               100.0 * static_cast<double>(done) / static_cast<double>(total), simulated_s,
               static_cast<double>(total) * dt_ms * 1e-3, rtf, eta);
}

RunInfo collect_run_info(const Simulator& simulator, Communicator& comm, const RunTimes& times,
                         bool stopped, double prior_learning_steps) {
  const double build_s = times.build_s, simulate_s = times.simulate_s;
  const Config& config = simulator.config();
  const std::int64_t steps_run = simulator.steps_done() - simulator.first_step();
  const double simulated_s =
      static_cast<double>(std::max<std::int64_t>(steps_run, 1)) * config.dt_s();
  const auto& counters = simulator.counters();
  RunInfo info;
  info["ranks"] = comm.size();
  info["threads_per_rank"] = simulator.threads();
  info["simulated_s"] = simulated_s;
  info["build_s"] = build_s;
  info["simulate_s"] = simulate_s;
  info["real_time_factor"] = simulate_s / simulated_s;
  info["compute_s_max"] = comm.max(simulator.timers().compute_s);
  info["exchange_s_max"] = comm.max(simulator.timers().exchange_s);
  info["compute_cpu_s_sum"] = comm.sum(simulator.timers().compute_cpu_s);
  info["compute_cpu_s_max"] = comm.max(simulator.timers().compute_cpu_s);
  info["network_spikes"] = static_cast<double>(comm.sum(counters.network_spikes));
  info["input_spikes"] = static_cast<double>(counters.input_spikes);
  info["synaptic_events"] = static_cast<double>(comm.sum(counters.deliveries));
  info["stdp_updates"] = static_cast<double>(comm.sum(counters.stdp_updates));
  info["synapses"] = static_cast<double>(comm.sum(simulator.local_synapses()));
  info["exchange_bytes_per_step"] = comm.sum(static_cast<double>(comm.bytes_sent())) /
                                    static_cast<double>(std::max<std::int64_t>(steps_run, 1));
  // The exchange's scaling figures (docs/scaling.md): words every rank received and the time
  // it took to sort them out, and the sources whose traces the ranks advance.
  const SpikeExchange& exchange = simulator.spike_exchange();
  info["exchange_directed"] = exchange.mode() == ExchangeMode::directed ? 1.0 : 0.0;
  info["exchange_mean_listeners"] = exchange.routes().mean_listeners;
  info["received_words"] = static_cast<double>(comm.sum(exchange.received_words()));
  info["walk_s_sum"] = comm.sum(exchange.walk_s());
  const Partition& partition = simulator.network().partition();
  info["partition_tiles"] = partition.shape() == PartitionShape::tiles ? 1.0 : 0.0;
  info["partition_bands"] = partition.bands();
  info["partition_columns"] = partition.columns();
  const SpikeRouter& router = simulator.router();
  info["needed_sources"] =
      static_cast<double>(comm.sum(std::uint64_t{router.n_sources() - router.n_inputs()}));
  info["first_step"] = static_cast<double>(simulator.first_step());
  info["last_step"] = static_cast<double>(simulator.steps_done());
  info["interrupted"] = stopped ? 1.0 : 0.0;
  info["prior_learning_steps"] = prior_learning_steps;

  return info;
}

void print_summary(const Config& config, const Simulator& simulator, Communicator& comm,
                   const RunInfo& info_in, double output_s, bool stopped) {
  const double peak_rss = comm.max(peak_rss_bytes());
  const double synapses_per_rank_max = comm.max(static_cast<double>(simulator.local_synapses()));
  if (comm.rank() != 0) return;
  RunInfo info = info_in;  // operator[] below, as when it was filled
  const double simulated_s = info["simulated_s"], simulate_s = info["simulate_s"];
  const double build_s = info["build_s"];
  const auto& net = simulator.network();
  const auto neurons = static_cast<double>(std::max<std::uint64_t>(net.n_neurons(), 1));
  std::printf(
      "%s %s: %d rank(s) x %d thread(s) (%s); %lld circuits, %llu neurons, %.0f "
      "synapses\n",
      program_invocation_short_name, SEQLEARN_VERSION, comm.size(), simulator.threads(),
      simulator.thread_choice().why.c_str(), static_cast<long long>(net.n_circuits()),
      static_cast<unsigned long long>(net.n_neurons()), info["synapses"]);
  std::printf("simulated %.3f s in %.3f s: real-time factor %.5f (build %.3f s, output %.3f s)\n",
              simulated_s, simulate_s, info["real_time_factor"], build_s, output_s);
  std::printf("time split (max over ranks): compute %.3f s, exchange %.3f s, output %.3f s\n",
              info["compute_s_max"], info["exchange_s_max"], output_s);
  if (comm.size() > 1)
    std::printf("partition: %s; the ranks advance %.2fx the network's sources (the halo)\n",
                info["partition_tiles"] != 0 ? "tiles" : "strips",
                info["needed_sources"] / neurons);
  std::printf("network spikes %.0f (%.1f Hz per neuron), input spikes %.0f\n",
              info["network_spikes"],
              info["network_spikes"] / simulated_s / static_cast<double>(net.n_neurons()),
              info["input_spikes"]);
  std::printf("synaptic events %.3g /s wall, STDP synapse updates %.3g /s wall\n",
              info["synaptic_events"] / simulate_s, info["stdp_updates"] / simulate_s);
  std::printf("peak memory %.1f MiB per rank (max); %.0f bytes per synapse on the largest rank\n",
              peak_rss / 1048576.0, peak_rss / std::max(1.0, synapses_per_rank_max));
  std::printf("output written to %s\n", config.output_file.c_str());
  char partition[64];
  if (info["partition_tiles"] != 0)
    std::snprintf(partition, sizeof partition, "tiles:%.0fx%.0f", info["partition_bands"],
                  info["partition_columns"]);
  else
    std::snprintf(partition, sizeof partition, "strips");
  std::printf(
      "bench: ranks=%d threads=%d rtf=%.6f simulate_s=%.4f build_s=%.4f output_s=%.4f "
      "spikes=%.0f events_per_s=%.4g stdp_per_s=%.4g peak_rss_mib=%.2f bytes_per_synapse=%.1f "
      "exchange_s=%.4f compute_s=%.4f simulated_s=%.4f circuits=%lld neurons=%llu synapses=%.0f "
      "exchange_bytes_per_step=%.1f compute_cpu_s_sum=%.4f compute_cpu_s_max=%.4f exchange=%s "
      "received_words=%.0f walk_ns_per_word=%.2f needed_sources_fraction=%.4f halo=%.3f "
      "mean_listeners=%.2f partition=%s\n",
      comm.size(), simulator.threads(), info["real_time_factor"], simulate_s, build_s, output_s,
      info["network_spikes"], info["synaptic_events"] / simulate_s,
      info["stdp_updates"] / simulate_s, peak_rss / 1048576.0,
      peak_rss / std::max(1.0, synapses_per_rank_max), info["exchange_s_max"],
      info["compute_s_max"], simulated_s, static_cast<long long>(net.n_circuits()),
      static_cast<unsigned long long>(net.n_neurons()), info["synapses"],
      info["exchange_bytes_per_step"], info["compute_cpu_s_sum"], info["compute_cpu_s_max"],
      info["exchange_directed"] != 0 ? "directed" : "allgather", info["received_words"],
      1e9 * info["walk_s_sum"] / std::max(1.0, info["received_words"]),
      info["needed_sources"] / neurons / comm.size(), info["needed_sources"] / neurons,
      info["exchange_mean_listeners"], partition);
  if (config.checkpoint_every_steps > 0 && !stopped)
    std::printf("checkpoint written to %s\n", config.checkpoint_file.c_str());
}

}  // namespace seqlearn
