// What a run needs before it starts, estimated from the configuration (memory, before the
// network is built) and from the built network (disk space): a run that cannot fit is refused
// with exit code 2 and one message (D12, D14, D19) instead of failing after hours. The bytes
// per item come from the structures they measure: the states' checkpoint fields (state.hpp),
// Network::km2013_table_bytes, InputFile::kLoadBytesPerRow and the Recorder's costs.
#include "estimates.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "seqlearn/input.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/recordables.hpp"

namespace seqlearn {
namespace {

namespace fs = std::filesystem;

// A synapse's state (SynapseRows, state.hpp): all of it is in its checkpoint fields.
double synapse_bytes() {
  return static_cast<double>(checkpoint_bytes_per_item<SynapseRows>());
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
  bytes = static_cast<double>(net.n_circuits()) * config.r_max_hz * seconds *
          Recorder::bytes_per_spike(config);              // spikes
  for (const seqlearn::Phase& phase : config.protocol) {  // input spikes at the phase's rates
    const seqlearn::InputSettings input = config.input_settings(phase);
    if (const auto spikes =
            simulator.input().spikes_in_phase(input, phase.steps, phase.continues)) {
      bytes += *spikes * Recorder::kBytesPerInputSpike;  // known in advance (a file's)
      continue;
    }
    const double rate = std::max(input.r_input_hz, input.use_noise ? input.r_noise_hz : 0.0) * 1.5;
    bytes += config.n_inputs * rate * static_cast<double>(phase.steps) * config.dt_s() *
             Recorder::kBytesPerInputSpike;
  }
  bytes += Recorder::label_bytes(config);
  // Traces: each chosen quantity per sample (recordables.hpp), and the synapses' two ends.
  bytes += samples * traced * sizeof(double) * Recorder::values_per_traced_neuron(config, fan_in);
  if (Recorder::samples_synapses(config)) bytes += traced * fan_in * 2.0 * sizeof(std::uint64_t);
  // The synapse list: source and target ids and the synapses' state.
  if (config.writes_synapses(synapses))
    bytes += synapses * (2.0 * sizeof(std::uint64_t) + synapse_bytes());
  bytes += 2e5;  // metadata, /network, /phases
  // The checkpoint: every state's checkpoint fields (state.hpp), and the input's position.
  need.checkpoint = synapses * synapse_bytes() +
                    (static_cast<double>(config.n_inputs) + neurons) *
                        static_cast<double>(checkpoint_bytes_per_item<SourceState>()) +
                    neurons * static_cast<double>(checkpoint_bytes_per_item<NeuronState>()) + 1e5;
  if (config.checkpoint_every_steps > 0) need.checkpoint *= 2.0;
  return need;
}

}  // namespace

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

namespace {

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

// The network's size as the estimate sees it, before the network is built (means over K).
struct NetworkSize {
  double k_mean = 0, k_square = 0, circuits = 0, neurons = 0;
  double recurrent = 0;       // synapses from other circuits
  std::string recurrent_key;  // the key that sets their number
};

NetworkSize network_size(const seqlearn::Config& config) {
  NetworkSize n;
  n.k_mean = 0.5 * (config.k_min + config.k_max);
  const double k_span = config.k_max - config.k_min + 1.0;
  n.k_square = n.k_mean * n.k_mean + (k_span * k_span - 1.0) / 12.0;
  n.circuits = static_cast<double>(config.n_circuits());
  n.neurons = n.circuits * n.k_mean;
  if (config.connectivity == seqlearn::Connectivity::km2013) {
    n.recurrent =
        std::min(static_cast<double>(config.n_conn), n.circuits * (n.circuits - 1)) * n.k_square;
    n.recurrent_key = "network.n_conn";
  } else {
    n.recurrent = n.circuits * config.wta_indegree * n.k_mean * n.k_mean;
    n.recurrent_key = "network.wta_indegree";
  }
  return n;
}

struct Part {
  double bytes;
  std::string key, what;
};

// Synapses (SynapseRows) and km2013's table of circuit pairs (Network).
void add_network_parts(const seqlearn::Config& config, const NetworkSize& n, double ranks,
                       std::vector<Part>& parts) {
  const double input_synapses = n.neurons * config.n_inputs;
  char text[256];
  std::snprintf(text, sizeof text, "%.3g synapses from other circuits", n.recurrent);
  parts.push_back({n.recurrent * synapse_bytes() / ranks, n.recurrent_key, text});
  std::snprintf(text, sizeof text, "%.3g synapses from the input channels", input_synapses);
  parts.push_back({input_synapses * synapse_bytes() / ranks, "network.n_inputs", text});
  if (config.connectivity == seqlearn::Connectivity::km2013)
    parts.push_back({Network::km2013_table_bytes(static_cast<std::int64_t>(n.circuits)),
                     "network.grid", "km2013's table of all circuit pairs (on every rank)"});
}

// What the input tasks hold (their entries' estimates: frozen patterns, presentation
// buffers), and a loaded input file.
void add_input_parts(const seqlearn::Config& config, std::vector<Part>& parts) {
  for (const auto& [name, task] : seqlearn::input_tasks().entries())
    if (task.memory)
      for (const seqlearn::MemoryPart& part : task.memory(config))
        parts.push_back({part.bytes, part.key, part.what});
  if (config.uses_task("file")) {
    // Every rank loads the whole file: (step, channel) pairs while reading, then the sorted
    // arrays; the row count is an upper bound taken from the file's size or dataset lengths.
    const double rows = static_cast<double>(seqlearn::input_file_rows_at_most(config));
    parts.push_back({rows * InputFile::kLoadBytesPerRow, "input.file",
                     "the spikes and labels of input.file, loaded on every rank"});
  }
}

// What is recorded: rank 0's labels, the spikes, the traces.
void add_recording_parts(const seqlearn::Config& config, const NetworkSize& n, double ranks,
                         double steps, std::vector<Part>& parts) {
  const double circuits = n.circuits, neurons = n.neurons, recurrent = n.recurrent;
  parts.push_back(
      {Recorder::label_bytes(config), "run.protocol",
       "rank 0's labels per step (" + input_labels().joined_names(", ") + ") and task targets"});
  parts.push_back({circuits * config.r_max_hz * steps * config.dt_s() *
                       Recorder::bytes_per_spike(config) / ranks,
                   "run.protocol", "the recorded spikes"});
  if (config.dt_rec > 0) {
    // Per sample and traced neuron: each recorded neuron quantity, and with weight traces each
    // recorded synapse quantity of its whole row (recordables.hpp, record.quantities).
    const double row = config.n_inputs + (recurrent / std::max(1.0, neurons)) * config.p_conn;
    const bool synapses = Recorder::samples_synapses(config);
    parts.push_back({traced_steps(config) / static_cast<double>(config.dt_rec) *
                         traced_neurons(config, neurons) / ranks *
                         Recorder::values_per_traced_neuron(config, row) * sizeof(double),
                     synapses ? "record.weight_traces" : "record.dt_rec",
                     synapses ? "the traces (the neuron quantities of each traced neuron and the "
                                "synapse quantities of every synapse onto it at every sample; "
                                "record.dt_rec, record.neurons, record.quantities)"
                              : "the traces (record.dt_rec, record.neurons, record.quantities)"});
  }
}

MemoryNeed estimate_memory(const seqlearn::Config& config, int n_ranks) {
  const double ranks = n_ranks;
  const NetworkSize n = network_size(config);
  const double steps = static_cast<double>(config.total_steps());
  std::vector<Part> parts;
  add_network_parts(config, n, ranks, parts);
  add_input_parts(config, parts);
  add_recording_parts(config, n, ranks, steps, parts);
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

}  // namespace

std::string gigabytes(double bytes) {
  char text[64];
  if (bytes >= 1e9)
    std::snprintf(text, sizeof text, "%.3g GB", bytes / 1e9);
  else
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  return text;
}

void check_memory(const seqlearn::Config& config, seqlearn::Communicator& comm,
                  MemoryNeed& estimate) {
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
  estimate = need;
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

}  // namespace seqlearn
