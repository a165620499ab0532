// seqlearn_mpi: the command-line front end. Parses and checks the configuration on every
// rank (identically, so a bad input ends every rank with exit code 2 and one message from
// rank 0), builds the network (or restores a checkpoint), runs the protocol with progress on
// rank 0, writes the HDF5 file and prints a summary. SIGTERM/SIGINT stop every rank at the
// same exchange interval, with a checkpoint and a complete output file (exit code 3); SIGUSR1
// and SIGUSR2 do the same (mpirun forwards them to every rank, which it cannot do for SIGTERM:
// scripts/launch.sh turns a Ctrl-C or SIGTERM into SIGUSR2, docs/checkpoint.md). A failure on
// one rank only ends the whole job via MPI_Abort (exit code 1), after its message, and never
// through a collective call (docs/design.md): an error path must not wait for other ranks.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <new>
#include <sstream>

#include "seqlearn/checkpoint.hpp"
#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/output.hpp"
#include "seqlearn/output_claim.hpp"
#include "seqlearn/simulator.hpp"
#include "seqlearn/threads.hpp"
#include "seqlearn/version.hpp"

namespace {

using seqlearn::ConfigError;
namespace fs = std::filesystem;

constexpr int kExitStopped = 3;

// The simulator that a SIGTERM/SIGINT asks to stop (request_stop only stores an atomic flag).
// The handlers are installed at start-up: a signal during the set-up (parsing, building the
// network, restoring) is remembered and stops the run at its first exchange interval (D17).
std::atomic<seqlearn::Simulator*> g_simulator{nullptr};
volatile std::sig_atomic_t g_signal = 0;
// Rank 0 says at once, from the handler (write(2) is async-signal-safe), what a stop request
// does, so that a launcher that kills the ranks before they are done (mpirun: SIGKILL
// odls_base_sigkill_timeout s after SIGTERM) leaves a log that says which checkpoint is valid.
const char kStopNote[] = "seqlearn_mpi: stop requested: stopping at the next exchange interval\n";
char g_stop_note[1024];                          // the full note, once the files are known
std::atomic<std::size_t> g_stop_note_length{0};  // 0 until g_stop_note is complete
std::atomic<bool> g_stop_note_written{false};
bool g_speaks = false;  // rank 0

extern "C" void on_stop_signal(int signal_number) {
  g_signal = signal_number;
  if (seqlearn::Simulator* simulator = g_simulator.load()) simulator->request_stop();
  if (g_speaks && !g_stop_note_written.exchange(true)) {
    const std::size_t length = g_stop_note_length.load();
    const ssize_t ignored =
        length > 0 ? write(2, g_stop_note, length) : write(2, kStopNote, sizeof kStopNote - 1);
    (void)ignored;
  }
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (const int signal_number : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2})
    sigaction(signal_number, &action, nullptr);
}

// A launcher that forwards a stop signal (scripts/launch.sh, seqlearn.run) must not send it
// before every rank has its handlers: until then the signal's default action ends the rank
// (exit 140 for SIGUSR2, no files; issue 18 D10). With SEQLEARN_READY_DIR set, each process
// says so by creating READY_DIR/ready.PID once its handlers are in place; the launcher holds a
// stop request back until it has seen one file per rank. Created exclusively, never through a
// symbolic link; a failure only costs the launcher's wait.
void announce_ready(char** environment) {
  // Read from the environment passed to the preinit function: getenv is not ready yet.
  constexpr char kName[] = "SEQLEARN_READY_DIR=";
  const char* folder = nullptr;
  for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry)
    if (std::strncmp(*entry, kName, sizeof kName - 1) == 0) folder = *entry + sizeof kName - 1;
  if (folder == nullptr || *folder == '\0') return;
  char path[4096];
  const int length =
      std::snprintf(path, sizeof path, "%s/ready.%ld", folder, static_cast<long>(getpid()));
  if (length <= 0 || static_cast<std::size_t>(length) >= sizeof path) return;
  const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}

// The handlers go in before main(), from the executable's .preinit_array, which runs before
// any shared library's initialiser (MPI's and HDF5's take milliseconds): what remains before
// them is the dynamic loader mapping the libraries, where a signal still acts as by default.
extern "C" void seqlearn_preinit(int, char**, char** environment) {
  install_stop_handlers();
  announce_ready(environment);
}
__attribute__((section(".preinit_array"), used)) void (*const g_preinit)(int, char**,
                                                                         char**) = seqlearn_preinit;

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "a signal";
  }
}

// The note of on_stop_signal, once the checkpoint's name is known (before the handlers can
// read it: set while g_stop_note_length is 0, published by storing the length).
void prepare_stop_note(const seqlearn::Config& config) {
  std::string note =
      "seqlearn_mpi: stop requested: the ranks stop at the next exchange interval and write the "
      "checkpoint " +
      config.checkpoint_file + " (via " + config.checkpoint_file +
      ".partial; an earlier checkpoint of that name stays valid until the new one is complete), "
      "then the output " +
      config.output_file +
      ". If the launcher kills the ranks before 'checkpoint written' is printed, the new "
      "checkpoint is lost and only the earlier one, if any, is valid (docs/checkpoint.md).\n";
  note.resize(std::min(note.size(), sizeof g_stop_note - 1));
  if (g_stop_note_length.load() != 0) return;  // prepared once
  std::copy(note.begin(), note.end(), g_stop_note);
  g_stop_note_length.store(note.size());
}

// What the program is doing, for the message of a failure that was not foreseen (bad_alloc).
const char* g_stage = "starting";

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
                                                    const seqlearn::Invocation& invocation,
                                                    seqlearn::Communicator& comm) {
  // The files the run reads: none of them may be one it writes (issue 18).
  const std::vector<seqlearn::PlannedFile> inputs{
      {"--config", invocation.config_path, ""},
      {"--restore", invocation.restore_path, ""},
      {"input.file", config.train_input.file, ""},
      {"input.label_file", config.train_input.label_file, ""},
      {config.test_input.file_key, config.test_input.file, ""},
      {config.test_input.label_file_key, config.test_input.label_file, ""},
      {"validation.forced_spikes", config.forced_spikes_file, ""}};
  std::string problem;
  std::unique_ptr<seqlearn::OutputClaim> claim;
  if (comm.rank() == 0) {
    try {
      claim = std::make_unique<seqlearn::OutputClaim>(
          std::vector<seqlearn::PlannedFile>{
              {"output.file", config.output_file, "--output"},
              {"output.checkpoint_file", config.checkpoint_file, "--output.checkpoint_file"}},
          config.overwrite, inputs);
    } catch (const ConfigError& e) {
      problem = e.what();
    }
  }
  if (comm.max(problem.empty() ? 0.0 : 1.0) > 0) throw ConfigError(problem);
  return claim;
}

// A full disk is known before the run where the files' sizes can be estimated: spikes at
// r_max per circuit, input spikes at each phase's own rates ([input] for train phases, [test]
// for test phases), traces, the synapse list, and the checkpoint, which a stop request writes
// even without periodic checkpoints (twice its size while a periodic one replaces the last).
// Checked on rank 0 against the free space of each file's folder, summed where both are on one
// filesystem; the verdict is shared.
struct SpaceNeed {
  double output = 0;
  double checkpoint = 0;
};

// The steps whose traces are recorded (record.trace_phases).
double traced_steps(const seqlearn::Config& config) {
  double steps = 0;
  for (const seqlearn::Phase& phase : config.protocol)
    if (config.traces_phase(phase)) steps += static_cast<double>(phase.steps);
  return steps;
}

SpaceNeed estimate_space(const seqlearn::Config& config, const seqlearn::Simulator& simulator,
                         seqlearn::Communicator& comm) {
  const auto& net = simulator.network();
  const double steps = static_cast<double>(config.total_steps());
  const double seconds = steps * config.dt_s();
  const double synapses = static_cast<double>(comm.sum(simulator.local_synapses()));
  const double traced = static_cast<double>(
      comm.sum(static_cast<std::uint64_t>(simulator.record().trace_neurons.size())));
  const double samples =
      config.dt_rec > 0 ? traced_steps(config) / static_cast<double>(config.dt_rec) : 0.0;
  const double fan_in = synapses / std::max(1.0, static_cast<double>(net.n_neurons()));
  const double neurons = static_cast<double>(net.n_neurons());
  SpaceNeed need;
  double& bytes = need.output;
  bytes = static_cast<double>(net.n_circuits()) * config.r_max_hz * seconds * 16.0;  // spikes
  for (const seqlearn::Phase& phase : config.protocol) {  // input spikes at the phase's rates
    const seqlearn::InputSettings input = config.input_settings(phase);
    if (const seqlearn::InputFile* file = simulator.input().file(input);
        file != nullptr && input.task == seqlearn::InputTask::file) {
      // The file's own spikes, as replayed from its step 0 (a continued phase may start
      // anywhere in it: one more repetition at most).
      const double spikes = phase.continues
                                ? static_cast<double>(phase.steps / file->n_steps + 1) *
                                      static_cast<double>(file->spike_step.size())
                                : static_cast<double>(file->spikes_in_first(phase.steps));
      bytes += spikes * 13.0;
      continue;
    }
    const double rate = std::max(input.r_input_hz, input.use_noise ? input.r_noise_hz : 0.0) * 1.5;
    bytes += config.n_inputs * rate * static_cast<double>(phase.steps) * config.dt_s() * 13.0;
  }
  bytes += steps * 12.0;  // labels
  const double weight_columns = config.record_weight_traces ? traced * fan_in : 0.0;
  bytes += samples * (traced * 3.0 + weight_columns) * 8.0 + weight_columns * 16.0;  // traces
  if (config.writes_synapses(synapses)) bytes += synapses * 40.0;
  bytes += 2e5;  // metadata, /network, /phases
  need.checkpoint = synapses * 24.0 + (static_cast<double>(config.n_inputs) + neurons) * 48.0 +
                    neurons * 24.0 + 1e5;
  if (config.checkpoint_every_steps > 0) need.checkpoint *= 2.0;
  return need;
}

void check_space(const seqlearn::Config& config, const seqlearn::Simulator& simulator,
                 seqlearn::Communicator& comm) {
  const SpaceNeed need = estimate_space(config, simulator, comm);
  std::string problem;
  if (comm.rank() == 0) {
    struct Place {
      const char* key;
      std::string file;
      fs::path folder;
      double bytes;
    };
    const auto folder_of = [](const std::string& file) {
      const fs::path path(file);
      return path.has_parent_path() ? path.parent_path() : fs::path(".");
    };
    std::vector<Place> places{
        {"output.file", config.output_file, folder_of(config.output_file), need.output},
        {"output.checkpoint_file", config.checkpoint_file, folder_of(config.checkpoint_file),
         need.checkpoint}};
    struct stat first {
    }, second{};
    if (stat(places[0].folder.c_str(), &first) == 0 &&
        stat(places[1].folder.c_str(), &second) == 0 && first.st_dev == second.st_dev) {
      places[0].bytes += places[1].bytes;  // one filesystem holds both
      places.pop_back();
    }
    for (const Place& place : places) {
      struct statvfs info {};
      if (statvfs(place.folder.c_str(), &info) != 0) continue;  // check_output's business
      const double free_bytes =
          static_cast<double>(info.f_bavail) * static_cast<double>(info.f_frsize);
      if (free_bytes < 1.2 * place.bytes) {
        char text[512];
        std::snprintf(text, sizeof text,
                      "the run needs about %.1f MB (output %.1f MB, checkpoint %.1f MB) but '%s' "
                      "has %.1f MB free",
                      place.bytes / 1e6, need.output / 1e6, need.checkpoint / 1e6,
                      place.folder.c_str(), free_bytes / 1e6);
        problem = std::string(place.key) + " '" + place.file + "': " + text;
        break;
      }
    }
  }
  if (comm.max(problem.empty() ? 0.0 : 1.0) > 0) throw ConfigError(problem);
}

// Memory is known before the network is built: synapses (24 bytes each at least: weight, mean
// and second moment), km2013's table of circuit pairs, the frozen input patterns and their
// presentation buffers, and what rank 0 records per step. A run that cannot fit is refused
// with exit 2, naming the key of its largest part and the estimate (D12, D14, D19); these are
// lower bounds, so a run near the limit may still run out, and then the message of
// main()'s bad_alloc handler repeats the estimate.
struct MemoryNeed {
  double bytes = 0;      // per rank, the largest rank (rank 0 records the inputs)
  double largest = 0;    // its largest part
  std::string key;       // the key that sets it
  std::string what;      // what it is
  double available = 0;  // per rank, the smallest over the ranks
  std::string available_why;
};
MemoryNeed g_memory;  // for the bad_alloc message

double meminfo_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string name;
  double kib = 0;
  std::string unit;
  while (meminfo >> name >> kib) {
    std::getline(meminfo, unit);
    if (name == "MemAvailable:") return kib * 1024.0;
  }
  return std::numeric_limits<double>::infinity();
}

double process_virtual_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0) return std::atof(line.c_str() + 7) * 1024.0;
  return 0;
}

double cgroup_available_bytes() {
  std::ifstream max_file("/sys/fs/cgroup/memory.max");
  std::string max_text;
  if (!(max_file >> max_text) || max_text == "max") return std::numeric_limits<double>::infinity();
  std::ifstream current_file("/sys/fs/cgroup/memory.current");
  double current = 0;
  current_file >> current;
  return std::max(0.0, std::atof(max_text.c_str()) - current);
}

// Ranks sharing this node's memory (Open MPI, SLURM), 1 if unknown.
double ranks_on_this_node() {
  for (const char* name :
       {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"})
    if (const char* text = std::getenv(name))
      if (const int n = std::atoi(text); n > 0) return n;
  return 1;
}

// Neurons record.neurons traces (about: the network's size is not known yet).
double traced_neurons(const seqlearn::Config& config, double neurons) {
  switch (config.record_mode) {
    case seqlearn::RecordMode::all:
      return neurons;
    case seqlearn::RecordMode::random:
      return std::min(neurons, static_cast<double>(config.record_list.at(0)));
    case seqlearn::RecordMode::range:
      return static_cast<double>(config.record_list.at(1) - config.record_list.at(0) + 1);
    case seqlearn::RecordMode::list:
      return static_cast<double>(config.record_list.size());
  }
  return neurons;
}

MemoryNeed estimate_memory(const seqlearn::Config& config, int n_ranks) {
  const double ranks = n_ranks;
  const double k_mean = 0.5 * (config.k_min + config.k_max);
  const double k_span = config.k_max - config.k_min + 1.0;
  const double k_square = k_mean * k_mean + (k_span * k_span - 1.0) / 12.0;
  const double circuits = static_cast<double>(config.n_circuits());
  const double neurons = circuits * k_mean;
  double recurrent = 0;
  std::string recurrent_key;
  if (config.connectivity == seqlearn::Connectivity::km2013) {
    recurrent = std::min(static_cast<double>(config.n_conn), circuits * (circuits - 1)) * k_square;
    recurrent_key = "network.n_conn";
  } else {
    recurrent = circuits * config.wta_indegree * k_mean * k_mean;
    recurrent_key = "network.wta_indegree";
  }
  const double input_synapses = neurons * config.n_inputs;
  const double steps = static_cast<double>(config.total_steps());
  struct Part {
    double bytes;
    std::string key, what;
  };
  std::vector<Part> parts;
  char text[256];
  std::snprintf(text, sizeof text, "%.3g synapses from other circuits", recurrent);
  parts.push_back({recurrent * 24.0 / ranks, recurrent_key, text});
  std::snprintf(text, sizeof text, "%.3g synapses from the input channels", input_synapses);
  parts.push_back({input_synapses * 24.0 / ranks, "network.n_inputs", text});
  if (config.connectivity == seqlearn::Connectivity::km2013)
    parts.push_back({circuits * circuits * 25.0, "network.grid",
                     "km2013's table of all circuit pairs (on every rank)"});
  double longest_pattern = 0, pattern_spikes = 0;
  for (const double t : config.t_pattern_ms) {
    longest_pattern = std::max(longest_pattern, t);
    pattern_spikes += config.n_inputs * config.train_input.r_input_hz * t * 1e-3;
  }
  const double warp = std::max({1.0, config.train_input.warp_max, config.test_input.warp_max});
  // A presentation buffer is sized when a pattern starts, after the first noise phase.
  const bool presents = steps * config.dt_ms > std::min(config.train_input.t_noise_min_ms,
                                                        config.test_input.t_noise_min_ms);
  parts.push_back(
      {pattern_spikes * 8.0 + (presents ? warp * longest_pattern / config.dt_ms * 24.0 : 0.0),
       "input.t_pattern", "the frozen input patterns and their presentation"});
  if (config.uses_task(seqlearn::InputTask::xor_task)) {
    // Four frozen patterns: their spike times, and per window step the offsets of their
    // channels (CSR); building them holds (step, channel) pairs as well.
    const double xor_spikes =
        config.n_inputs * config.train_input.r_input_hz * config.t_pattern_xor_ms * 1e-3 * 2.0;
    parts.push_back({xor_spikes * 28.0 + 4.0 * config.t_pattern_xor_ms / config.dt_ms * 4.0,
                     "input.t_pattern_xor", "the xor task's four frozen patterns"});
  }
  if (config.uses_task(seqlearn::InputTask::file)) {
    // Every rank loads the whole file: (step, channel) pairs while reading, then the sorted
    // arrays; the row count is an upper bound taken from the file's size or dataset lengths.
    const double rows = static_cast<double>(seqlearn::input_file_rows_at_most(config));
    parts.push_back(
        {rows * 24.0, "input.file", "the spikes and labels of input.file, loaded on every rank"});
  }
  parts.push_back(
      {steps * 12.0, "run.protocol", "rank 0's labels per step (two streams) and sequence ids"});
  parts.push_back({circuits * config.r_max_hz * steps * config.dt_s() * 16.0 / ranks,
                   "run.protocol", "the recorded spikes"});
  if (config.dt_rec > 0) {
    // Per sample and traced neuron: u, p, readout, and with weight traces its whole row.
    const double row = config.n_inputs + (recurrent / std::max(1.0, neurons)) * config.p_conn;
    const double per_neuron = 3.0 + (config.record_weight_traces ? row : 0.0);
    parts.push_back({traced_steps(config) / static_cast<double>(config.dt_rec) *
                         traced_neurons(config, neurons) / ranks * per_neuron * 8.0,
                     config.record_weight_traces ? "record.weight_traces" : "record.dt_rec",
                     config.record_weight_traces
                         ? "the traces (u, p, readout and every synapse's weight of each traced "
                           "neuron at every sample; record.dt_rec, record.neurons)"
                         : "the traces (record.dt_rec, record.neurons)"});
  }
  MemoryNeed need;
  for (const Part& part : parts) {
    need.bytes += part.bytes;
    if (part.bytes > need.largest) {
      need.largest = part.bytes;
      need.key = part.key;
      need.what = part.what;
    }
  }
  return need;
}

std::string gigabytes(double bytes) {
  char text[64];
  if (bytes >= 1e9)
    std::snprintf(text, sizeof text, "%.3g GB", bytes / 1e9);
  else
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  return text;
}

void check_memory(const seqlearn::Config& config, seqlearn::Communicator& comm) {
  MemoryNeed need = estimate_memory(config, comm.size());
  const double local_ranks = ranks_on_this_node();
  double available = std::numeric_limits<double>::infinity();
  std::string why;
  if (const double node = meminfo_available_bytes() / local_ranks; node < available) {
    available = node;
    why = "MemAvailable shared by " + std::to_string(static_cast<int>(local_ranks)) +
          " rank(s) on this node";
  }
  if (const double group = cgroup_available_bytes() / local_ranks; group < available) {
    available = group;
    why = "the cgroup's memory.max";
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    const double left = static_cast<double>(limit.rlim_cur) - process_virtual_bytes();
    if (left < available) {
      available = left;
      why = "the address-space limit (ulimit -v)";
    }
  }
  need.available = -comm.max(-(std::isfinite(available) ? available : 1e300));
  const bool short_here = need.bytes > available;
  need.available_why = why;
  g_memory = need;
  if (comm.max(short_here ? 1.0 : 0.0) == 0) return;
  char text[1024];
  std::snprintf(text, sizeof text,
                "%s: the run needs about %s of memory per rank (largest part: %s, %s) but only %s "
                "is available per rank on some rank (%s); change %s, or run on more nodes",
                need.key.c_str(), gigabytes(need.bytes).c_str(), need.what.c_str(),
                gigabytes(need.largest).c_str(), gigabytes(need.available).c_str(),
                short_here ? why.c_str() : "another node's limit", need.key.c_str());
  throw ConfigError(text);
}

// Threads bound to fewer cores than there are threads share them and gain nothing (Open
// MPI binds each rank to one core by default when ranks <= 2), and so do the threads of ranks
// whose affinities overlap (--bind-to none, or a socket binding): say so once, with the fix.
// Two launches waste cores whatever the thread count, and are said first: more ranks than the
// cores they may run on while others sit idle (mpirun --cpu-set 0 -n 2), and ranks that may run on
// the same cores while OpenMP binds their threads (OMP_PROC_BIND or OMP_PLACES with --bind-to
// none): every such rank starts its threads on the same first place.
void warn_if_threads_share_cores(const seqlearn::Simulator& simulator,
                                 seqlearn::Communicator& comm) {
  const seqlearn::CoreShare& share = simulator.core_share();
  const double threads = comm.max(static_cast<double>(simulator.threads()));
  const double fewest_cores = -comm.max(-static_cast<double>(share.cores));
  const double sharing_ranks = comm.max(static_cast<double>(share.sharing_ranks));
  const double short_of_cores = comm.max(simulator.threads() > share.cores ? 1.0 : 0.0);
  const double piled_ranks = comm.max(static_cast<double>(share.piled_ranks));
  // Crowded: ranks outnumber the cores they share while the node's allocation has more (a
  // node oversubscribed on purpose, scripts/launch.sh's R x T > cores, is not).
  const double crowded = comm.max(
      share.sharing_ranks > share.shared_cores && share.node_cores > share.shared_cores ? 1.0
                                                                                        : 0.0);
  if (comm.rank() != 0) return;
  const std::string fix = seqlearn::launch_hint(comm.size(), static_cast<int>(threads), share);
  if (piled_ranks > 0) {
    std::fprintf(stderr,
                 "seqlearn_mpi: warning: %.0f ranks of a node start their threads on the same "
                 "OpenMP place (OMP_PROC_BIND or OMP_PLACES is set, and the ranks may run on the "
                 "same cores): they share its processors. Set OMP_PROC_BIND=false, or give each "
                 "rank cores of its own: %s\n",
                 piled_ranks, fix.c_str());
    return;
  }
  if (crowded > 0) {
    std::fprintf(stderr,
                 "seqlearn_mpi: warning: more ranks of a node than the cores they may run on "
                 "(up to %.0f ranks share their CPU affinities) while the node has others: they "
                 "take turns on those cores; %s\n",
                 sharing_ranks, fix.c_str());
    return;
  }
  if (short_of_cores == 0) return;
  const std::string why =
      sharing_ranks > 1
          ? "up to " + std::to_string(static_cast<int>(sharing_ranks)) +
                " ranks of a node share the cores of their CPU affinities, " +
                std::to_string(static_cast<int>(fewest_cores)) + " core(s) each at the least"
          : "a rank may run on only " + std::to_string(static_cast<int>(fewest_cores)) +
                " core(s) (its CPU affinity)";
  std::fprintf(stderr,
               "seqlearn_mpi: warning: %.0f threads per rank, but %s: threads beyond that share "
               "cores and gain nothing; %s\n",
               threads, why.c_str(), fix.c_str());
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
  const auto claim = check_output(config, invocation, comm);
  prepare_stop_note(config);
  check_memory(config, comm);

  g_stage = "building the network";
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

  // Training done before this run (by the run a checkpoint was restored from): the analysis
  // counts it ("after T s of training").
  const auto prior_learning_steps = static_cast<double>(simulator.learning_steps());
  const InjectedFault fault = injected_fault();
  g_simulator.store(&simulator);
  if (g_signal != 0) simulator.request_stop();  // a signal during the set-up (D17)
  g_stage = "simulating";
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
  if (stopped && root)
    std::fprintf(stderr, "seqlearn_mpi: checkpoint written to %s; writing the output %s\n",
                 config.checkpoint_file.c_str(), config.output_file.c_str());
  g_stage = "writing the output";
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
  info["prior_learning_steps"] = prior_learning_steps;

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
          "seqlearn_mpi: stopped on request (%s) at step %lld (%.3f s of model time); checkpoint "
          "written to %s and output to %s.\nResume with: mpirun -n %d seqlearn_mpi --restore %s "
          "--output NEW_OUTPUT.h5\n",
          signal_name(g_signal), static_cast<long long>(simulator.steps_done()),
          static_cast<double>(simulator.steps_done()) * config.dt_s(),
          config.checkpoint_file.c_str(), config.output_file.c_str(), comm.size(),
          config.checkpoint_file.c_str());
    return kExitStopped;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  install_stop_handlers();  // again (seqlearn_preinit did first), before MPI_Init
  seqlearn::MpiSession mpi(&argc, &argv);
  const int rank = seqlearn::MpiSession::world_rank();
  g_speaks = rank == 0;
  std::unique_ptr<seqlearn::Communicator> comm;
  try {
    comm = seqlearn::make_mpi_communicator();
    return run(argc, argv, *comm);
  } catch (const ConfigError& e) {
    // The job is ending: a signal from here on (mpirun stopping the ranks that have not exited
    // yet when the first one does) must not add a stop note to the one message. So in every
    // handler below.
    g_stop_note_written.store(true);
    // Every rank reaches this with the same error; rank 0 speaks for all of them.
    if (rank == 0) std::cerr << "seqlearn_mpi: error: " << e.what() << "\n";
    return 2;
  } catch (const seqlearn::DivergenceError& e) {
    g_stop_note_written.store(true);
    // Every rank learns of it in the same exchange and stops; nothing is written.
    if (rank == 0) std::cerr << "seqlearn_mpi: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc& e) {
    g_stop_note_written.store(true);
    // Only this rank knows: say what was being done and what the estimate was, then abort.
    std::cerr << "seqlearn_mpi: rank " << rank << ": fatal error: out of memory while " << g_stage
              << " (" << e.what() << ")";
    if (g_memory.bytes > 0)
      std::cerr << "; the estimate was " << gigabytes(g_memory.bytes) << " per rank, largest part "
                << g_memory.what << " (" << gigabytes(g_memory.largest) << ", set by "
                << g_memory.key << "), with " << gigabytes(g_memory.available)
                << " available per rank";
    std::cerr << "\n";
    if (comm) comm->abort(1);
    return 1;
  } catch (const std::exception& e) {
    g_stop_note_written.store(true);
    std::cerr << "seqlearn_mpi: rank " << rank << ": fatal error while " << g_stage << ": "
              << e.what() << "\n";
    if (comm) comm->abort(1);
    return 1;
  }
}
