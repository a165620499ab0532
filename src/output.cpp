#include "seqlearn/output.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>

#include "seqlearn/config.hpp"
#include "seqlearn/hdf5_file.hpp"
#include "seqlearn/input_task.hpp"
#include "seqlearn/recordables.hpp"
#include "seqlearn/version.hpp"

namespace seqlearn {
namespace {

// Rank 0 writes `values` (identical on every rank), the others nothing.
template <class T>
void write_from_root(H5File& file, const std::string& path, const std::vector<T>& values,
                     Communicator& comm) {
  const std::uint64_t total = comm.rank() == 0 ? values.size() : 0;
  const std::uint64_t all = comm.max(total);
  file.write_rows(path, values.data(), total, 0, all);
}

// /network: every dataset in global order (of circuits, neurons, sources or synapses), each rank
// writing the pieces of its runs of circuits (local_domain.hpp).
void write_network(H5File& file, const Simulator& sim, Communicator& comm) {
  const Network& net = sim.network();
  const LocalDomain& domain = sim.domain();
  const Config& config = sim.config();
  file.create_group("/network");
  file.attribute("/network", "n_circuits", static_cast<std::int64_t>(net.n_circuits()));
  file.attribute("/network", "n_neurons", static_cast<std::int64_t>(net.n_neurons()));
  file.attribute("/network", "n_inputs", static_cast<std::int64_t>(net.n_inputs()));
  file.attribute("/network", "rows", static_cast<std::int64_t>(net.rows()));
  file.attribute("/network", "cols", static_cast<std::int64_t>(net.cols()));

  std::vector<std::int32_t> sizes, positions, pair_pre, pair_post;
  std::vector<std::uint32_t> circuit_of;
  std::vector<std::uint64_t> pairs_per_run(domain.runs().size(), 0);
  for (std::size_t r = 0; r < domain.runs().size(); ++r) {
    for (auto c = domain.runs()[r].first_circuit; c < domain.runs()[r].end_circuit; ++c) {
      sizes.push_back(net.circuit_size(c));
      positions.push_back(static_cast<std::int32_t>(c / net.cols()));
      positions.push_back(static_cast<std::int32_t>(c % net.cols()));
      circuit_of.insert(circuit_of.end(), static_cast<std::size_t>(net.circuit_size(c)),
                        static_cast<std::uint32_t>(c));
      for (auto a : net.sources_of(c)) {
        pair_pre.push_back(static_cast<std::int32_t>(a));
        pair_post.push_back(static_cast<std::int32_t>(c));
        ++pairs_per_run[r];
      }
    }
  }
  const auto n_circuits = static_cast<std::uint64_t>(net.n_circuits());
  const Slices circuits = domain.circuit_slices(n_circuits);
  file.write_slices("/network/circuit_size", sizes, circuits);
  file.write_row_slices("/network/circuit_position", positions.data(), 2, circuits);
  file.write_slices("/network/circuit_trained", sim.circuit_trained(), circuits);
  file.write_slices("/network/circuit_of", circuit_of, domain.neuron_slices(net.n_neurons()));
  const Slices pairs = run_slices(comm, domain, pairs_per_run);
  file.write_slices("/network/circuit_pairs/pre", pair_pre, pairs);
  file.write_slices("/network/circuit_pairs/post", pair_post, pairs);

  // STP parameters per source: rank 0 also writes the input channels, which precede neuron 0.
  const auto n_inputs = static_cast<std::uint64_t>(config.n_inputs);
  const Slices sources = domain.source_slices(n_inputs, net.n_neurons(), comm.rank() == 0);
  std::vector<double> U, D, F;
  for (std::size_t i = 0; i < sources.offsets.size(); ++i) {
    for (std::uint64_t source = sources.offsets[i]; source < sources.offsets[i] + sources.counts[i];
         ++source) {
      const StpParameters p = net.stp_parameters(source);
      U.push_back(p.U);
      D.push_back(p.D_s * 1e3);  // ms, as plasticity.stp_D/F in /config
      F.push_back(p.F_s * 1e3);
    }
  }
  file.write_slices("/network/stp/U", U, sources);
  file.write_slices("/network/stp/D", D, sources);
  file.write_slices("/network/stp/F", F, sources);
  file.units("/network/stp/U", "1");
  file.units("/network/stp/D", "ms");
  file.units("/network/stp/F", "ms");

  if (config.writes_synapses(static_cast<double>(comm.sum(sim.local_synapses())))) {
    const Slices synapses = run_slices(comm, domain, domain.sum_per_run(sim.synapse_row_begin()));
    file.write_slices("/network/synapses/pre", sim.synapse_sources(), synapses);
    file.write_slices("/network/synapses/post", sim.synapse_targets(), synapses);
    file.write_slices("/network/synapses/weight", sim.weights(), synapses);
    file.write_slices("/network/synapses/variance_tracking_mean", sim.variance_tracking_mean(),
                      synapses);
    file.write_slices("/network/synapses/variance_tracking_second_moment",
                      sim.variance_tracking_second_moment(), synapses);
    for (const char* name : {"weight", "variance_tracking_mean", "variance_tracking_second_moment"})
      file.units(std::string("/network/synapses/") + name, "1");
  }
}

// /spikes, ordered by (neuron, step): each run of a rank's circuits is one block of neurons.
void write_spikes(H5File& file, const LocalDomain& domain, const Record& rec, Communicator& comm) {
  std::vector<std::size_t> order(rec.spike_step.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rec.spike_neuron[a] < rec.spike_neuron[b];
  });
  std::vector<std::int64_t> steps(order.size());
  std::vector<std::uint64_t> neurons(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    steps[i] = rec.spike_step[order[i]];
    neurons[i] = rec.spike_neuron[order[i]];
  }
  const Slices slices = run_slices(comm, domain, domain.count_per_run(neurons));
  file.write_slices("/spikes/step", steps, slices);
  file.write_slices("/spikes/neuron", neurons, slices);
  file.units("/spikes/step", "steps");
  std::vector<double> values(rec.spike_value_names.empty() ? 0 : order.size());
  for (std::size_t q = 0; q < rec.spike_value_names.size(); ++q) {  // recordables.hpp
    for (std::size_t i = 0; i < order.size(); ++i) values[i] = rec.spike_values[q][order[i]];
    const std::string name = "/spikes/" + rec.spike_value_names[q];
    file.write_slices(name, values, slices);
    file.units(name, spike_quantities().find(rec.spike_value_names[q])->unit);
  }
}

// /input: the input spikes and the tasks' labels and targets, from rank 0.
void write_inputs(H5File& file, const Simulator& sim, const Record& rec, Communicator& comm) {
  write_from_root(file, "/input/spikes/step", rec.input_step, comm);
  write_from_root(file, "/input/spikes/channel", rec.input_channel, comm);
  write_from_root(file, "/input/spikes/from_pattern", rec.input_from_pattern, comm);
  for (std::size_t l = 0; l < rec.label_names.size(); ++l) {  // recordables.hpp input_labels
    // [T] or [T, width] (pattern_id: column 0 = stream 1, column 1 = stream 2); a restored run
    // starts at its checkpoint's step: row i is step first_step + i.
    const std::string name = "/input/" + rec.label_names[l];
    const std::uint64_t width = input_labels().find(rec.label_names[l])->width;
    if (width == 1) {
      write_from_root(file, name, rec.labels[l], comm);
    } else {
      const std::uint64_t rows = comm.rank() == 0 ? rec.labels[l].size() / width : 0;
      const std::uint64_t all = comm.max(rows);
      file.write_matrix(name, rec.labels[l].data(), all, width, 0, rows, 0, width);
    }
    file.attribute(name, "first_step", rec.first_step);
  }
  for (const auto& [task, entry] : input_tasks().entries()) {
    if (!entry.targets || !sim.config().uses_task(task)) continue;
    // The task's targets (input_task.hpp): from /input/NAME/step[i] on, they are value[i].
    static const Record::Targets none;
    const auto found = rec.targets.find(task);
    const Record::Targets& targets = found == rec.targets.end() ? none : found->second;
    const std::string group = "/input/" + entry.targets->name;
    const std::uint64_t width = entry.targets->width(sim.config());
    // Rows of `width` values each: Recorder::record_targets refuses any other.
    const std::uint64_t rows = comm.rank() == 0 ? targets.step.size() : 0;
    const std::uint64_t all = comm.max(rows);
    write_from_root(file, group + "/step", targets.step, comm);
    file.write_matrix(group + "/value", targets.value.data(), all, width, 0, rows, 0, width);
    file.units(group + "/step", "steps");
    file.units(group + "/value", entry.targets->unit);
  }
  file.units("/input/spikes/step", "steps");
}

// /phases: the protocol as run.
void write_phases(H5File& file, const Simulator& sim, Communicator& comm) {
  const Config& config = sim.config();
  std::vector<std::string> names, tasks;
  std::vector<std::int64_t> first_step, steps_of_phase;
  std::vector<std::uint8_t> learning;
  std::int64_t at = sim.first_step();
  for (const Phase& phase : config.protocol) {
    names.push_back(to_string(phase.kind));
    tasks.push_back(config.input_settings(phase).task);
    first_step.push_back(at);
    steps_of_phase.push_back(phase.steps);
    learning.push_back(phase.learning ? 1 : 0);
    at += phase.steps;
  }
  file.write_strings("/phases/name", names);
  file.write_strings("/phases/task", tasks);
  write_from_root(file, "/phases/first_step", first_step, comm);
  write_from_root(file, "/phases/steps", steps_of_phase, comm);
  write_from_root(file, "/phases/learning", learning, comm);
  file.units("/phases/first_step", "steps");
  file.units("/phases/steps", "steps");
}

// /traces: [T, n] per recorded neuron quantity and [T, m] per recorded synapse quantity, each
// run of a rank's circuits owning a block of columns.
void write_traces(H5File& file, const Config& config, const LocalDomain& domain, const Record& rec,
                  Communicator& comm) {
  const std::uint64_t n_times = rec.trace_steps.size();  // the same on every rank
  file.create_group("/traces");
  file.attribute("/traces", "dt_rec_steps", static_cast<std::int64_t>(config.dt_rec));
  write_from_root(file, "/traces/step", rec.trace_steps, comm);
  const Slices neurons = run_slices(comm, domain, domain.count_per_run(rec.trace_neurons));
  file.write_slices("/traces/neuron", rec.trace_neurons, neurons);
  for (std::size_t q = 0; q < rec.trace_names.size(); ++q) {  // recordables.hpp
    const std::string name = "/traces/" + rec.trace_names[q];
    file.write_column_slices(name, rec.traces[q].data(), n_times, neurons);
    file.units(name, neuron_quantities().find(rec.trace_names[q])->unit);
  }
  // A traced neuron's synapses follow it: runs hold them as they hold their posts.
  const Slices weights = run_slices(comm, domain, domain.count_per_run(rec.trace_weight_post));
  file.write_slices("/traces/weight_pre", rec.trace_weight_pre, weights);
  file.write_slices("/traces/weight_post", rec.trace_weight_post, weights);
  for (std::size_t q = 0; q < rec.synapse_trace_names.size(); ++q) {  // recordables.hpp
    const std::string name = "/traces/" + rec.synapse_trace_names[q];
    file.write_column_slices(name, rec.synapse_traces[q].data(), n_times, weights);
    file.units(name, synapse_quantities().find(rec.synapse_trace_names[q])->unit);
  }
  file.units("/traces/step", "steps");
}

void write_activity(H5File& file, const Simulator& sim, Communicator& comm) {
  write_spikes(file, sim.domain(), sim.record(), comm);
  write_inputs(file, sim, sim.record(), comm);
  write_phases(file, sim, comm);
  write_traces(file, sim.config(), sim.domain(), sim.record(), comm);
}

// Units of the /run attributes: durations in s, the real-time factor a ratio; counts none.
std::string run_unit(const std::string& name) {
  if (name == "real_time_factor") return "1";
  if (name.ends_with("_s") || name.ends_with("_s_max") || name.ends_with("_s_sum")) return "s";
  if (name.ends_with("_step") && name.starts_with("exchange_bytes")) return "byte";
  if (name == "first_step" || name == "last_step" || name == "prior_learning_steps") return "steps";
  return "";
}

}  // namespace

void write_output(const std::string& path, const Simulator& sim, const RunInfo& info,
                  Communicator& comm) {
  const std::string partial = path + ".partial";
  {
    H5File file(partial, comm);
    // Text as UTF-8 strings; /config/units and /run/units name the unit of each attribute
    // that has one (an attribute cannot carry attributes of its own).
    file.create_group("/config");
    file.create_group("/config/units");
    for (const auto& [key, value] : sim.config().resolved) {
      file.text_attribute("/config", key, value);
      if (const std::string unit = unit_of_key(key); !unit.empty())
        file.text_attribute("/config/units", key, unit);
    }
    file.text_attribute("/config", "program_version", std::string(SEQLEARN_VERSION));
    file.attribute("/config", "n_ranks", static_cast<std::int64_t>(comm.size()));
    file.attribute("/config", "threads_per_rank", static_cast<std::int64_t>(sim.threads()));
    write_network(file, sim, comm);
    write_activity(file, sim, comm);
    file.create_group("/run");
    file.create_group("/run/units");
    for (const auto& [name, value] : info) {
      file.attribute("/run", name, value);
      if (const std::string unit = run_unit(name); !unit.empty())
        file.text_attribute("/run/units", name, unit);
    }
    file.close();
  }
  publish_file(partial, path, comm, sim.config().overwrite);
}

}  // namespace seqlearn
