// seqlearn_mpi: the command-line front end. Parses and checks the configuration on every
// rank (identically, so a bad input ends every rank with exit code 2 and one message from
// rank 0), builds the network (or restores a checkpoint), runs the protocol with progress on
// rank 0, writes the HDF5 file and prints a summary. SIGTERM/SIGINT stop every rank at the
// same exchange interval, with a checkpoint and a complete output file (exit code 3). A
// failure on one rank only ends the whole job via MPI_Abort (exit code 1).
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "seqlearn/checkpoint.hpp"
#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/output.hpp"
#include "seqlearn/output_claim.hpp"
#include "seqlearn/simulator.hpp"
#include "seqlearn/threads.hpp"

#ifndef SEQLEARN_VERSION
#define SEQLEARN_VERSION "unknown"
#endif

namespace {

using seqlearn::ConfigError;
namespace fs = std::filesystem;

constexpr int kExitStopped = 3;

// The simulator that a SIGTERM/SIGINT asks to stop (request_stop only stores an atomic flag).
std::atomic<seqlearn::Simulator*> g_simulator{nullptr};
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int signal_number) {
  g_signal = signal_number;
  if (seqlearn::Simulator* simulator = g_simulator.load()) simulator->request_stop();
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

// Test hook (tests/cli/failures.sh): SEQLEARN_TEST_FAULT=RANK:STEP makes that rank throw once
// the run has passed STEP steps, to check that one rank's failure ends the whole job.
struct InjectedFault {
  int rank = -1;
  std::int64_t step = 0;
};
InjectedFault injected_fault() {
  InjectedFault fault;
  if (const char* text = std::getenv("SEQLEARN_TEST_FAULT"))
    if (std::sscanf(text, "%d:%lld", &fault.rank, reinterpret_cast<long long*>(&fault.step)) != 2)
      fault.rank = -1;
  return fault;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

// Every file the run will write (output, checkpoint, their folders) is checked and claimed
// on rank 0 before anything is built (output_claim.hpp: exclusive lock files, files compared
// by identity, existing files kept unless overwrite); the verdict is shared so that every rank
// exits 2. The claim lasts as long as the returned object; a refused run leaves nothing.
std::unique_ptr<seqlearn::OutputClaim> check_output(const seqlearn::Config& config,
                                                    seqlearn::Communicator& comm) {
  std::string problem;
  std::unique_ptr<seqlearn::OutputClaim> claim;
  if (comm.rank() == 0) {
    try {
      claim = std::make_unique<seqlearn::OutputClaim>(
          std::vector<seqlearn::PlannedFile>{
              {"output.file", config.output_file, "--output"},
              {"output.checkpoint_file", config.checkpoint_file, "--output.checkpoint_file"}},
          config.overwrite);
    } catch (const ConfigError& e) {
      problem = e.what();
    }
  }
  if (comm.max(problem.empty() ? 0.0 : 1.0) > 0) throw ConfigError(problem);
  return claim;
}

// A full disk is known before the run where the files' sizes can be estimated: spikes at
// r_max per circuit, input spikes, traces, the synapse list and a checkpoint. Checked on
// rank 0 against the free space of the output's folder; the verdict is shared.
void check_space(const seqlearn::Config& config, const seqlearn::Simulator& simulator,
                 seqlearn::Communicator& comm) {
  const auto& net = simulator.network();
  const double steps = static_cast<double>(config.total_steps());
  const double seconds = steps * config.dt_s();
  const double synapses = static_cast<double>(comm.sum(simulator.local_synapses()));
  const double traced = static_cast<double>(
      comm.sum(static_cast<std::uint64_t>(simulator.record().trace_neurons.size())));
  const double samples = config.dt_rec > 0 ? steps / static_cast<double>(config.dt_rec) : 0.0;
  const double fan_in = synapses / std::max(1.0, static_cast<double>(net.n_neurons()));
  double bytes =
      static_cast<double>(net.n_circuits()) * config.r_max_hz * seconds * 16.0;  // spikes
  bytes += config.n_inputs * config.train_input.r_input_hz * 1.5 * seconds * 13.0 +
           steps * 8.0;                                                       // inputs, labels
  bytes += samples * traced * (3.0 + fan_in) * 8.0 + traced * fan_in * 16.0;  // traces
  if (config.writes_synapses(synapses)) bytes += synapses * 40.0;
  if (config.checkpoint_every_steps > 0)
    bytes += synapses * 24.0 + static_cast<double>(net.n_neurons()) * 64.0;
  std::string problem;
  if (comm.rank() == 0) {
    const fs::path path(config.output_file);
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    struct statvfs info {};
    if (statvfs(folder.c_str(), &info) == 0) {
      const double free_bytes =
          static_cast<double>(info.f_bavail) * static_cast<double>(info.f_frsize);
      if (free_bytes < 1.2 * bytes) {
        char text[256];
        std::snprintf(text, sizeof text, "the run needs about %.1f MB but '%s' has %.1f MB free",
                      bytes / 1e6, folder.c_str(), free_bytes / 1e6);
        problem = "output.file '" + config.output_file + "': " + text;
      }
    }
  }
  if (comm.max(problem.empty() ? 0.0 : 1.0) > 0) throw ConfigError(problem);
}

// Threads bound to fewer cores than there are threads share them and gain nothing (Open
// MPI binds each rank to one core by default when ranks <= 2): say so once, with the fix.
void warn_if_threads_share_cores(const seqlearn::Simulator& simulator,
                                 seqlearn::Communicator& comm) {
  const int cores = seqlearn::cores_available();
  const double threads = comm.max(static_cast<double>(simulator.threads()));
  const double fewest_cores = -comm.max(-static_cast<double>(cores));
  const double short_of_cores = comm.max(simulator.threads() > cores ? 1.0 : 0.0);
  if (comm.rank() == 0 && short_of_cores > 0)
    std::fprintf(stderr,
                 "seqlearn_mpi: warning: %.0f threads per rank, but a rank may run on only %.0f "
                 "core(s) (its CPU affinity): its threads share them and gain nothing. Launch "
                 "with: %s\n",
                 threads, fewest_cores,
                 seqlearn::launch_hint(comm.size(), static_cast<int>(threads)).c_str());
}

void print_progress(std::int64_t done, std::int64_t total, double dt_ms, double wall_s) {
  const double simulated_s = static_cast<double>(done) * dt_ms * 1e-3;
  const double rtf = simulated_s > 0 ? wall_s / simulated_s : 0.0;
  const double eta =
      done > 0 ? wall_s * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
  std::fprintf(
      stderr,
      "seqlearn_mpi: %5.1f%%  %.1f of %.1f s simulated  real-time factor %.4f  ETA %.0f s\n",
      100.0 * static_cast<double>(done) / static_cast<double>(total), simulated_s,
      static_cast<double>(total) * dt_ms * 1e-3, rtf, eta);
}

int run(int argc, char** argv, seqlearn::Communicator& comm) {
  const bool root = comm.rank() == 0;
  const seqlearn::Invocation invocation = seqlearn::parse_command_line(argc, argv);
  if (invocation.show_help || invocation.show_version) {
    if (root)
      std::cout << (invocation.show_help ? invocation.help_text
                                         : "seqlearn_mpi " SEQLEARN_VERSION "\n");
    return 0;
  }
  const bool restoring = !invocation.restore_path.empty();
  seqlearn::Config config = invocation.config;
  if (restoring) {
    const seqlearn::CheckpointHeader header =
        seqlearn::read_checkpoint_header(invocation.restore_path);
    config = seqlearn::resume_config(header.config, invocation.explicit_values,
                                     header.remaining_protocol, header.continues_phase);
  }
  const auto claim = check_output(config, comm);

  const auto build_start = std::chrono::steady_clock::now();
  seqlearn::Simulator simulator(config, comm);
  if (restoring) simulator.restore(invocation.restore_path);
  check_space(config, simulator, comm);
  const double build_s = comm.max(seconds_since(build_start));
  if (root && restoring)
    std::fprintf(stderr, "seqlearn_mpi: restored '%s' at step %lld; running %s\n",
                 invocation.restore_path.c_str(), static_cast<long long>(simulator.first_step()),
                 config.resolved_protocol_text().c_str());

  warn_if_threads_share_cores(simulator, comm);

  const InjectedFault fault = injected_fault();
  g_simulator.store(&simulator);
  install_stop_handlers();
  const auto run_start = std::chrono::steady_clock::now();
  double last_report = 0;
  const auto outcome = simulator.run([&](std::int64_t done, std::int64_t total) {
    if (fault.rank == comm.rank() && done >= fault.step)
      throw std::runtime_error("injected fault (SEQLEARN_TEST_FAULT) after step " +
                               std::to_string(done));
    if (!root) return;
    const double wall = seconds_since(run_start);
    if (wall - last_report >= 5.0 || done == total) {
      print_progress(done, total, config.dt_ms, wall);
      last_report = wall;
    }
  });
  const bool stopped = outcome == seqlearn::Simulator::Outcome::stopped;
  const double simulate_s = comm.max(seconds_since(run_start));

  const std::int64_t steps_run = simulator.steps_done() - simulator.first_step();
  const double simulated_s =
      static_cast<double>(std::max<std::int64_t>(steps_run, 1)) * config.dt_s();
  const auto& counters = simulator.counters();
  seqlearn::RunInfo info;
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
  info["first_step"] = static_cast<double>(simulator.first_step());
  info["last_step"] = static_cast<double>(simulator.steps_done());
  info["interrupted"] = stopped ? 1.0 : 0.0;

  const auto output_start = std::chrono::steady_clock::now();
  seqlearn::write_output(config.output_file, simulator, info, comm);
  const double output_s = comm.max(seconds_since(output_start));
  const double peak_rss = comm.max(peak_rss_bytes());
  const double synapses_per_rank_max = comm.max(static_cast<double>(simulator.local_synapses()));

  if (root) {
    const auto& net = simulator.network();
    std::printf(
        "seqlearn_mpi %s: %d rank(s) x %d thread(s) (%s); %lld circuits, %llu neurons, %.0f "
        "synapses\n",
        SEQLEARN_VERSION, comm.size(), simulator.threads(), simulator.thread_choice().why.c_str(),
        static_cast<long long>(net.n_circuits()), static_cast<unsigned long long>(net.n_neurons()),
        info["synapses"]);
    std::printf("simulated %.3f s in %.3f s: real-time factor %.5f (build %.3f s, output %.3f s)\n",
                simulated_s, simulate_s, info["real_time_factor"], build_s, output_s);
    std::printf("time split (max over ranks): compute %.3f s, exchange %.3f s, output %.3f s\n",
                info["compute_s_max"], info["exchange_s_max"], output_s);
    std::printf("network spikes %.0f (%.1f Hz per neuron), input spikes %.0f\n",
                info["network_spikes"],
                info["network_spikes"] / simulated_s / static_cast<double>(net.n_neurons()),
                info["input_spikes"]);
    std::printf("synaptic events %.3g /s wall, STDP synapse updates %.3g /s wall\n",
                info["synaptic_events"] / simulate_s, info["stdp_updates"] / simulate_s);
    std::printf("peak memory %.1f MiB per rank (max); %.0f bytes per synapse on the largest rank\n",
                peak_rss / 1048576.0, peak_rss / std::max(1.0, synapses_per_rank_max));
    std::printf("output written to %s\n", config.output_file.c_str());
    std::printf(
        "bench: ranks=%d threads=%d rtf=%.6f simulate_s=%.4f build_s=%.4f output_s=%.4f "
        "spikes=%.0f events_per_s=%.4g stdp_per_s=%.4g peak_rss_mib=%.2f bytes_per_synapse=%.1f "
        "exchange_s=%.4f compute_s=%.4f simulated_s=%.4f circuits=%lld neurons=%llu synapses=%.0f "
        "exchange_bytes_per_step=%.1f compute_cpu_s_sum=%.4f compute_cpu_s_max=%.4f\n",
        comm.size(), simulator.threads(), info["real_time_factor"], simulate_s, build_s, output_s,
        info["network_spikes"], info["synaptic_events"] / simulate_s,
        info["stdp_updates"] / simulate_s, peak_rss / 1048576.0,
        peak_rss / std::max(1.0, synapses_per_rank_max), info["exchange_s_max"],
        info["compute_s_max"], simulated_s, static_cast<long long>(net.n_circuits()),
        static_cast<unsigned long long>(net.n_neurons()), info["synapses"],
        info["exchange_bytes_per_step"], info["compute_cpu_s_sum"], info["compute_cpu_s_max"]);
    if (config.checkpoint_every_steps > 0 && !stopped)
      std::printf("checkpoint written to %s\n", config.checkpoint_file.c_str());
  }
  if (stopped) {
    if (root)
      std::fprintf(
          stderr,
          "seqlearn_mpi: stopped on request%s at step %lld (%.3f s of model time); checkpoint "
          "written to %s and output to %s.\nResume with: mpirun -n %d seqlearn_mpi --restore %s "
          "--output NEW_OUTPUT.h5\n",
          g_signal == SIGINT    ? " (SIGINT)"
          : g_signal == SIGTERM ? " (SIGTERM)"
                                : "",
          static_cast<long long>(simulator.steps_done()),
          static_cast<double>(simulator.steps_done()) * config.dt_s(),
          config.checkpoint_file.c_str(), config.output_file.c_str(), comm.size(),
          config.checkpoint_file.c_str());
    return kExitStopped;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  seqlearn::MpiSession mpi(&argc, &argv);
  const int rank = seqlearn::MpiSession::world_rank();
  std::unique_ptr<seqlearn::Communicator> comm;
  try {
    comm = seqlearn::make_mpi_communicator();
    return run(argc, argv, *comm);
  } catch (const ConfigError& e) {
    // Every rank reaches this with the same error; rank 0 speaks for all of them.
    if (rank == 0) std::cerr << "seqlearn_mpi: error: " << e.what() << "\n";
    return 2;
  } catch (const seqlearn::DivergenceError& e) {
    // Every rank learns of it in the same exchange and stops; nothing is written.
    if (rank == 0) std::cerr << "seqlearn_mpi: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "seqlearn_mpi: rank " << rank << ": fatal error: " << e.what() << "\n";
    if (comm) comm->abort(1);
    return 1;
  }
}
