// Checkpoints (docs/design.md principle 6): everything a run needs to continue bit-identically, in
// a form that does not depend on the decomposition, so that N ranks can write and M ranks
// read. The file (docs/checkpoint.md):
//
//   /config              every resolved key (attributes), as in the output file
//   /checkpoint          attributes: step, learning_steps, remaining_protocol,
//                        continues_phase, generator_* (input-generator position)
//   /synapses/{weight, variance_tracking_mean, variance_tracking_second_moment}
//                        [M], global synapse order (by neuron, then source id)
//   /sources/{trace_decay, trace_rise, stp_R, stp_u, last_spike}
//                        [n_inputs + N], by source id (written by each neuron's owner)
//   /neurons/{weighted_decay, weighted_rise, readout}
//                        [N]: the event-driven sums are saved, not recomputed, because
//                        recomputing would round differently
//   /pending/{step, source, amplitude}
//                        spikes still in flight (delay > 1), by arrival step and source
//
// Every dataset has a `checksum` attribute, and /checkpoint:attributes_checksum covers the
// attributes of /config and /checkpoint (checksum.hpp). A restore checks, before it changes
// any state, every attribute's presence, type and range, every dataset's shape, type, values
// and checksum; anything wrong is a ConfigError (exit code 2) naming the attribute or dataset,
// reached by every rank alike (the datasets' verdicts are agreed with reductions).
#include "seqlearn/checkpoint.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <variant>
#include <vector>

#include "seqlearn/checksum.hpp"
#include "seqlearn/file_safety.hpp"
#include "seqlearn/hdf5_file.hpp"
#include "seqlearn/scoped_timer.hpp"
#include "seqlearn/simulator.hpp"
#include "seqlearn/version.hpp"

namespace seqlearn {

// The protocol still to run from the position's step, as run.protocol text; `continues` tells
// whether its first phase is the rest of the current one.
std::string remaining_protocol(const Config& config, const ProtocolPosition& position,
                               bool& continues) {
  std::ostringstream text;
  text.precision(17);
  std::size_t next = position.phase_index;
  continues = false;
  if (position.phase_index < config.protocol.size() && position.step < position.phase_end) {
    const Phase& phase = config.protocol[position.phase_index];
    text << to_string(phase.kind) << ":"
         << static_cast<double>(position.phase_end - position.step) * config.dt_ms
         << config.phase_task_text(phase);
    continues = true;
    ++next;
  } else if (position.phase_index < config.protocol.size()) {
    ++next;
  }
  // The phases after it (repeat groups keep the text short: a checkpoint holds it in an
  // attribute).
  if (next < config.protocol.size()) {
    if (text.tellp() > 0) text << ",";
    text << config.protocol_text(next);
  }
  return text.str();
}

namespace {

// generator_task: the task's place in the registry (0..3 for pattern, xor, file and multi,
// which are registered first).
std::int64_t generator_task_index(const std::string& task) {
  const auto names = input_tasks().names();
  return std::find(names.begin(), names.end(), task) - names.begin();
}

// /config and /checkpoint. Every attribute goes through put(), which adds it to the
// attributes' checksum.
void write_attributes(H5File& file, const CheckpointParts& p) {
  std::uint64_t attributes_checksum = 0;
  auto put = [&](const std::string& object, const std::string& name, const auto& value) {
    file.attribute(object, name, value);
    attributes_checksum += checksum::of_attribute(object, name, checksum::text(value));
  };
  file.create_group("/config");
  for (const auto& [key, value] : p.config.resolved) put("/config", key, value);
  put("/config", "program_version", std::string(SEQLEARN_VERSION));
  put("/config", "n_ranks", static_cast<std::int64_t>(p.comm.size()));

  bool continues = false;
  const std::string remaining = remaining_protocol(p.config, p.position, continues);
  const InputGenerator::State g = p.input.state();
  file.create_group("/checkpoint");
  put("/checkpoint", "step", p.position.step);
  put("/checkpoint", "learning_steps", static_cast<std::int64_t>(p.position.learning_steps));
  put("/checkpoint", "remaining_protocol", remaining);
  put("/checkpoint", "continues_phase", static_cast<std::int64_t>(continues));
  // The generator: its task's place in the registry, and the fields of the tasks the run
  // built (input_task.hpp: TaskEntry::position).
  put("/checkpoint", "generator_task", generator_task_index(g.task));
  for (const auto& [name, value] : g.position.values)
    std::visit([&](const auto& number) { put("/checkpoint", "generator_" + name, number); }, value);
  file.attribute("/checkpoint", "attributes_checksum",
                 static_cast<std::int64_t>(attributes_checksum));
}

// A dataset with its checksum: the sum over ranks of their slices' terms.
template <class Values>
void write_checked(H5File& file, Communicator& comm, const std::string& name, const Values& values,
                   const Slices& slices) {
  file.write_slices(name, values, slices);
  std::uint64_t sum = 0;
  for (std::size_t i = 0, at = 0; i < slices.offsets.size(); at += slices.counts[i++])
    sum += checksum::of_elements(values.data() + at, slices.counts[i], slices.offsets[i]);
  file.attribute(name, "checksum", static_cast<std::int64_t>(comm.sum(sum)));
}

// The global source ids whose state this rank writes: rank 0 the input channels, which precede
// neuron 0, then every rank its own neurons, a slice per run of its circuits.
Slices written_sources(const CheckpointParts& p) {
  return p.domain.source_slices(static_cast<std::uint64_t>(p.config.n_inputs),
                                p.network.n_neurons(), p.comm.rank() == 0);
}

// The slices of the synapse rows of this rank's runs in global order (collective).
Slices synapse_slices(const CheckpointParts& p) {
  return run_slices(p.comm, p.domain, p.domain.sum_per_run(p.state.synapses.row_begin));
}

// /synapses, /sources, /neurons: each state group names its checkpointed arrays once
// (state.hpp).
void write_state(H5File& file, const CheckpointParts& p) {
  const Slices synapses = synapse_slices(p);
  SynapseRows::checkpoint_fields(
      p.state.synapses, [&](const char* name, const auto& values, Valid) {
        write_checked(file, p.comm, std::string("/synapses/") + name, values, synapses);
      });
  const Slices sources = written_sources(p);
  std::vector<std::uint32_t> local_sources;
  for (std::size_t i = 0; i < sources.offsets.size(); ++i)
    for (std::uint64_t id = sources.offsets[i]; id < sources.offsets[i] + sources.counts[i]; ++id)
      local_sources.push_back(p.router.route(id)->source);  // inputs and own neurons: always
  SourceState::checkpoint_fields(p.state.sources, [&](const char* name, const auto& values, Valid) {
    std::vector<typename std::decay_t<decltype(values)>::value_type> rows;
    rows.reserve(local_sources.size());
    for (auto j : local_sources) rows.push_back(values[j]);
    write_checked(file, p.comm, std::string("/sources/") + name, rows, sources);
  });
  const Slices neurons = p.domain.neuron_slices(p.network.n_neurons());
  NeuronState::checkpoint_fields(p.state.neurons, [&](const char* name, const auto& values, Valid) {
    write_checked(file, p.comm, std::string("/neurons/") + name, values, neurons);
  });
}

// /pending: spikes in flight, each at the one step >= the position's whose ring slot holds it;
// a source's owner writes its spikes. Ordered by source, then step, each rank's in the slices of
// the sources it writes, so the datasets are the same whatever the decomposition.
void write_pending(H5File& file, const CheckpointParts& p) {
  struct Pending {
    std::uint64_t source;
    std::int64_t step;
    double amplitude;
  };
  const Slices sources = written_sources(p);
  std::vector<std::uint64_t> per_slice(sources.offsets.size(), 0);
  std::vector<Pending> pending;
  const std::int64_t step = p.position.step;
  for (std::int64_t arrival = step; arrival < step + p.router.delay_steps(); ++arrival) {
    for (const Arrival& a : p.router.arrivals_at(arrival)) {
      const std::uint64_t id = p.router.source_id(a.source);
      for (std::size_t i = 0; i < sources.offsets.size(); ++i) {
        if (id < sources.offsets[i] || id >= sources.offsets[i] + sources.counts[i]) continue;
        pending.push_back({id, arrival, a.amplitude});
        ++per_slice[i];
      }
    }
  }
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
    return a.source != b.source ? a.source < b.source : a.step < b.step;
  });
  // Keyed by the slices' first source ids: unique, and in the order of the sources.
  const Slices slices = slices_in_key_order(p.comm, sources.offsets, per_slice);
  std::vector<std::int64_t> pending_step;
  std::vector<std::uint64_t> pending_source;
  std::vector<double> pending_amplitude;
  for (const Pending& spike : pending) {
    pending_step.push_back(spike.step);
    pending_source.push_back(spike.source);
    pending_amplitude.push_back(spike.amplitude);
  }
  write_checked(file, p.comm, "/pending/step", pending_step, slices);
  write_checked(file, p.comm, "/pending/source", pending_source, slices);
  write_checked(file, p.comm, "/pending/amplitude", pending_amplitude, slices);
}

}  // namespace

void write_checkpoint(const std::string& path, const CheckpointParts& p) {
  const std::string partial = path + ".partial";
  {
    H5File file(partial, p.comm);
    write_attributes(file, p);
    write_state(file, p);
    write_pending(file, p);
    file.close();
  }
  // The first checkpoint takes a free name (or, with --overwrite, replaces a regular file);
  // later ones replace the run's own earlier checkpoint.
  publish_file(partial, path, p.comm, p.config.overwrite || p.position.checkpoint_published);
  p.position.checkpoint_published = true;
}

namespace {

std::string corrupt(const std::string& path, const std::string& what) {
  return "--restore '" + path + "': the checkpoint is corrupt or was edited: " + what;
}

// One dataset of a checkpoint and what a restore accepts in it.
struct DatasetCheck {
  std::string name;
  int type = 0;  // H5File::type_of_public<T>()
  std::uint64_t length = 0;
  std::string allowed;  // what each element must be, as text
  // Reads elements [offset, offset + count); adds their checksum terms to `sum` and returns
  // the position of the first element not allowed, or `offset + count`.
  std::function<std::uint64_t(const H5Input&, std::uint64_t, std::uint64_t, std::uint64_t&)> scan;
};

template <class T>
DatasetCheck dataset_check(std::string name, std::uint64_t length, std::string allowed,
                           std::function<bool(std::uint64_t, T)> ok) {
  DatasetCheck check;
  check.name = std::move(name);
  check.type = H5File::type_of_public<T>();
  check.length = length;
  check.allowed = std::move(allowed);
  check.scan = [name = check.name, ok](const H5Input& in, std::uint64_t offset, std::uint64_t count,
                                       std::uint64_t& sum) {
    const std::vector<T> values = in.read_rows<T>(name, offset, count);
    sum += checksum::of_elements(values.data(), values.size(), offset);
    for (std::uint64_t i = 0; i < count; ++i)
      if (!ok(offset + i, values[i])) return offset + i;
    return offset + count;
  };
  return check;
}

// `unit_stp(id)`: whether source `id`'s STP state stays in [0, 1] (its U <= 1).
template <class T>
DatasetCheck field_check(const std::string& name, std::uint64_t length, Valid valid,
                         std::int64_t step, const std::function<bool(std::uint64_t)>& unit_stp) {
  auto finite = [](T v) { return std::isfinite(static_cast<double>(v)); };
  switch (valid) {
    case Valid::finite:
      return dataset_check<T>(name, length, "not finite",
                              [finite](std::uint64_t, T v) { return finite(v); });
    case Valid::non_negative:
      return dataset_check<T>(name, length, "negative or not finite",
                              [finite](std::uint64_t, T v) { return finite(v) && v >= 0; });
    case Valid::stp_state:
      return dataset_check<T>(name, length, "outside [0, 1] (its source has U <= 1) or not finite",
                              [finite, unit_stp](std::uint64_t id, T v) {
                                return finite(v) && (!unit_stp(id) || (v >= 0 && v <= 1));
                              });
    case Valid::step_so_far:
      return dataset_check<T>(name, length, "not a step in [-1, " + std::to_string(step) + "]",
                              [step](std::uint64_t, T v) { return v >= -1 && v <= step; });
  }
  return {};
}

// Every rank checks every dataset's shape and type, then scans its share of each dataset's
// elements (values and checksum terms). Every verdict is agreed by reduction before anyone
// throws, so all ranks throw the same ConfigError, in the order of `checks`.
void verify_datasets(const std::vector<DatasetCheck>& checks, const H5Input& in,
                     const std::string& path, Communicator& comm) {
  const auto n_checks = static_cast<double>(checks.size());
  std::size_t bad = checks.size();
  std::string problem;
  for (std::size_t i = 0; i < checks.size() && bad == checks.size(); ++i) {
    try {
      problem = in.dataset_problem(checks[i].name, checks[i].type, checks[i].length);
    } catch (const std::exception& e) {
      problem = std::string("cannot be read (") + e.what() + ")";
    }
    if (!problem.empty()) bad = i;
  }
  const auto agreed =
      static_cast<std::size_t>(n_checks - comm.max(n_checks - static_cast<double>(bad)));
  if (agreed < checks.size())
    throw ConfigError(corrupt(
        path,
        checks[agreed].name + " " + (agreed == bad ? problem : "cannot be read on every rank")));

  const auto rank = static_cast<std::uint64_t>(comm.rank());
  const auto ranks = static_cast<std::uint64_t>(comm.size());
  constexpr std::uint64_t kChunk = std::uint64_t{1} << 20;
  for (const DatasetCheck& check : checks) {
    // This rank's share [begin, end) of the elements.
    const std::uint64_t n = check.length;
    const std::uint64_t begin = n / ranks * rank + std::min(rank, n % ranks);
    const std::uint64_t end = begin + n / ranks + (rank < n % ranks ? 1 : 0);
    std::uint64_t sum = 0;
    std::uint64_t first_bad = end;
    double unreadable = 0;
    try {
      for (std::uint64_t at = begin; at < end && first_bad == end; at += kChunk) {
        const std::uint64_t count = std::min(kChunk, end - at);
        const std::uint64_t found = check.scan(in, at, count, sum);
        if (found < at + count) first_bad = found;
      }
    } catch (const std::exception&) {
      unreadable = 1;
    }
    if (comm.max(unreadable) > 0)
      throw ConfigError(corrupt(path, check.name + " cannot be read (the file is damaged)"));
    constexpr double kNone = -std::numeric_limits<double>::max();
    const double lowest_bad = -comm.max(first_bad < end ? -static_cast<double>(first_bad) : kNone);
    if (lowest_bad != -kNone)
      throw ConfigError(corrupt(path, check.name + "[" +
                                          std::to_string(static_cast<std::uint64_t>(lowest_bad)) +
                                          "] is " + check.allowed));
    const std::uint64_t total = comm.sum(sum);
    const auto stored = static_cast<std::uint64_t>(in.int_attribute(check.name, "checksum"));
    if (total != stored)
      throw ConfigError(corrupt(path, check.name + " does not match its checksum"));
  }
}

}  // namespace

namespace {

// Every dataset of the checkpoint with what a restore accepts in it, in the order they are
// checked. `n_pending`: the length of /pending (0 when unreadable: the checks say why).
std::vector<DatasetCheck> dataset_checks(const CheckpointParts& p, const H5Input& in,
                                         std::int64_t step, std::uint64_t n_synapses,
                                         std::uint64_t& n_pending) {
  const std::uint64_t n_sources =
      static_cast<std::uint64_t>(p.config.n_inputs) + p.network.n_neurons();
  const Network& network = p.network;
  const std::function<bool(std::uint64_t)> unit_stp = [&network](std::uint64_t id) {
    return network.stp_parameters(id).U <= 1.0;
  };
  std::vector<DatasetCheck> checks;
  auto add_fields = [&](const std::string& group, std::uint64_t length) {
    return [&checks, &unit_stp, group, length, step](const char* name, auto& values, Valid valid) {
      using T = typename std::decay_t<decltype(values)>::value_type;
      checks.push_back(field_check<T>(group + name, length, valid, step, unit_stp));
    };
  };
  SynapseRows::checkpoint_fields(p.state.synapses, add_fields("/synapses/", n_synapses));
  SourceState::checkpoint_fields(p.state.sources, add_fields("/sources/", n_sources));
  NeuronState::checkpoint_fields(p.state.neurons, add_fields("/neurons/", network.n_neurons()));
  n_pending = 0;
  try {
    n_pending = in.length("/pending/step");
  } catch (const std::exception&) {  // the checks below say what is wrong
  }
  const std::int64_t delay = p.router.delay_steps();
  checks.push_back(dataset_check<std::int64_t>(
      "/pending/step", n_pending,
      "not an arrival step in [" + std::to_string(step) + ", " + std::to_string(step + delay) + ")",
      [step, delay](std::uint64_t, std::int64_t s) { return s >= step && s < step + delay; }));
  checks.push_back(dataset_check<std::uint64_t>(
      "/pending/source", n_pending, "not a source id below " + std::to_string(n_sources),
      [n_sources](std::uint64_t, std::uint64_t id) { return id < n_sources; }));
  // R u, within [0, 1] unless the source's U > 1: only finiteness is checked here.
  checks.push_back(dataset_check<double>("/pending/amplitude", n_pending, "not finite",
                                         [](std::uint64_t, double a) { return std::isfinite(a); }));
  return checks;
}

// The state arrays of this rank from checked datasets: its synapse rows (the slices of its
// runs: synapse_slices), the sources it listens to, its neurons.
void load_state(const H5Input& in, const CheckpointParts& p, const Slices& synapses) {
  SynapseRows::checkpoint_fields(p.state.synapses, [&](const char* name, auto& values, Valid) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    // Copied into the arrays slice by slice (same size): they keep their huge pages (state.hpp).
    if (values.size() != synapses.local()) values.resize(synapses.local());
    for (std::size_t i = 0, at = 0; i < synapses.offsets.size(); at += synapses.counts[i++]) {
      const std::vector<T> rows = in.read_rows<T>(std::string("/synapses/") + name,
                                                  synapses.offsets[i], synapses.counts[i]);
      std::copy(rows.begin(), rows.end(), values.begin() + static_cast<std::ptrdiff_t>(at));
    }
  });
  // Sources: the inputs, then each run of consecutive needed circuits' neurons.
  p.router.for_each_source_run([&](std::uint64_t id, std::uint32_t j, std::uint64_t count) {
    SourceState::checkpoint_fields(p.state.sources, [&](const char* name, auto& values, Valid) {
      using T = typename std::decay_t<decltype(values)>::value_type;
      const auto rows = in.read_rows<T>(std::string("/sources/") + name, id, count);
      std::copy(rows.begin(), rows.end(), values.begin() + j);
    });
  });
  NeuronState::checkpoint_fields(p.state.neurons, [&](const char* name, auto& values, Valid) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    values.resize(p.domain.n_neurons());
    for (const LocalDomain::Run& run : p.domain.runs()) {
      const auto rows =
          in.read_rows<T>(std::string("/neurons/") + name, run.first_neuron, run.n_neurons());
      std::copy(rows.begin(), rows.end(),
                values.begin() + static_cast<std::ptrdiff_t>(run.local_neuron));
    }
  });
}

// Spikes in flight, re-queued in (arrival step, source id) order for the needed sources.
void requeue_pending(const H5Input& in, const CheckpointParts& p, std::uint64_t n_pending) {
  const auto pending_step = in.read_rows<std::int64_t>("/pending/step", 0, n_pending);
  const auto pending_source = in.read_rows<std::uint64_t>("/pending/source", 0, n_pending);
  const auto pending_amplitude = in.read_rows<double>("/pending/amplitude", 0, n_pending);
  std::vector<std::size_t> order(n_pending);
  for (std::size_t i = 0; i < n_pending; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return pending_step[a] != pending_step[b] ? pending_step[a] < pending_step[b]
                                              : pending_source[a] < pending_source[b];
  });
  for (auto i : order) {
    std::optional<Arrival> arrival = p.router.route(pending_source[i]);
    if (!arrival) continue;  // no local synapse listens to it
    arrival->amplitude = pending_amplitude[i];
    p.router.arrivals_at(pending_step[i]).push_back(*arrival);
  }
}

// Whether `path` and `other` name one file (a run that continues in the checkpoint it was
// restored from replaces it as its own).
bool same_file(const std::string& path, const std::string& other) {
  struct stat a {
  }, b{};
  return ::stat(path.c_str(), &a) == 0 && ::stat(other.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

}  // namespace

// The attributes (presence, types, ranges, checksum), then every dataset, checked before any
// state changes; then the position, the state, the spikes in flight, and validation mode's
// forced spikes from the checkpoint's step on.
void restore_checkpoint(const std::string& path, const CheckpointParts& p) {
  const CheckpointHeader header = read_checkpoint_header(path);
  p.position.checkpoint_published = same_file(path, p.config.checkpoint_file);
  double unreadable = 0;
  std::unique_ptr<H5Input> input;
  try {
    input = std::make_unique<H5Input>(path);
  } catch (const std::exception&) {
    unreadable = 1;
  }
  if (p.comm.max(unreadable) > 0)
    throw ConfigError("--restore '" + path + "' cannot be opened on every rank");
  const H5Input& in = *input;
  const Slices synapses = synapse_slices(p);
  std::uint64_t n_pending = 0;
  verify_datasets(dataset_checks(p, in, header.step, synapses.total, n_pending), in, path, p.comm);

  p.position.step = p.position.first_step = header.step;
  p.position.learning_steps = header.learning_steps;
  p.position.restored_generator = header.generator;
  // The event counter runs on across phases: a new phase after the restore needs it too. The
  // rest of the generator's state is for a continued phase (run() resumes it).
  p.input.carry_over(header.generator);
  load_state(in, p, synapses);
  requeue_pending(in, p, n_pending);
  auto at_step = [&](const std::vector<ForcedSpike>& list) {
    return static_cast<std::size_t>(
        std::lower_bound(list.begin(), list.end(), header.step,
                         [](const ForcedSpike& f, std::int64_t s) { return f.step < s; }) -
        list.begin());
  };
  p.interval_inputs.forced_input_cursor = at_step(p.interval_inputs.forced.inputs);
  p.interval_inputs.forced_neuron_cursor = at_step(p.interval_inputs.forced.neurons);
}

namespace {

// An attribute of the checkpoint and its allowed values (integers and reals: [lo, hi]).
struct AttributeRule {
  std::string name;
  H5Input::Kind kind;
  double lo = 0, hi = 0;
  bool optional = false;
};

const char* kind_name(H5Input::Kind kind) {
  switch (kind) {
    case H5Input::Kind::missing:
      return "missing";
    case H5Input::Kind::integer:
      return "an integer";
    case H5Input::Kind::floating:
      return "a real number";
    case H5Input::Kind::string:
      return "a string";
    case H5Input::Kind::other:
      break;
  }
  return "of another kind";
}

void check_kind(const H5Input& in, const std::string& path, const std::string& object,
                const std::string& name, H5Input::Kind kind) {
  const H5Input::Kind found = in.attribute_kind(object, name);
  if (found == H5Input::Kind::missing)
    throw ConfigError(corrupt(path, object + ":" + name + " is missing"));
  if (found != kind)
    throw ConfigError(corrupt(path, object + ":" + name + " is " + kind_name(found) + "; " +
                                        kind_name(kind) + " expected"));
}

}  // namespace

namespace {

// More tasks than any program registers: a larger generator_task is corruption, a smaller one
// beyond this program's tasks a checkpoint of a program with plug-in tasks.
constexpr std::int64_t kMaxRegisteredTasks = 1000;

// Every attribute of /checkpoint present (the optional ones may be missing), of its kind and
// within its range.
void check_checkpoint_attributes(const H5Input& in, const std::string& path) {
  using Kind = H5Input::Kind;
  const double max_step = kMaxCheckpointStep;  // the tasks' positions share it (input_task.hpp)
  const double big = static_cast<double>(std::numeric_limits<std::int64_t>::max());
  std::vector<AttributeRule> rules = {
      {"step", Kind::integer, 0, max_step},
      {"learning_steps", Kind::integer, 0, max_step},
      {"remaining_protocol", Kind::string},
      {"continues_phase", Kind::integer, 0, 1},
      // Absent from checkpoints of versions with the pattern task alone.
      {"generator_task", Kind::integer, 0, static_cast<double>(input_tasks().entries().size()) - 1,
       true},
  };
  // The tasks' fields; those with a value for when they are absent are optional.
  for (const auto& [task, entry] : input_tasks().entries())
    for (const PositionField& field : entry.position)
      rules.push_back({"generator_" + field.name, field.real ? Kind::floating : Kind::integer,
                       field.low, field.high, field.when_absent.has_value()});
  rules.push_back({"attributes_checksum", Kind::integer, -big, big});
  for (const AttributeRule& rule : rules) {
    if (rule.optional && in.attribute_kind("/checkpoint", rule.name) == Kind::missing) continue;
    check_kind(in, path, "/checkpoint", rule.name, rule.kind);
    const std::string name = std::string("/checkpoint:") + rule.name;
    if (rule.kind == Kind::integer) {
      const std::int64_t value = in.int_attribute("/checkpoint", rule.name);
      if (rule.name == "generator_task" && static_cast<double>(value) > rule.hi &&
          value < kMaxRegisteredTasks)
        throw ConfigError(
            "--restore '" + path +
            "': the checkpoint was written in a phase of input task number " +
            std::to_string(value) + ", which this program does not register (it has " +
            input_tasks().joined_names(", ") +
            "): a program built with more tasks (docs/extending.md) wrote it; restore "
            "it with that program");
      if (static_cast<double>(value) < rule.lo || static_cast<double>(value) > rule.hi)
        throw ConfigError(corrupt(path, name + " is " + std::to_string(value) + ", outside [" +
                                            checksum::text(rule.lo) + ", " +
                                            checksum::text(rule.hi) + "]"));
    } else if (rule.kind == Kind::floating) {
      const double value = in.double_attribute("/checkpoint", rule.name);
      if (!(value > rule.lo && value <= rule.hi))
        throw ConfigError(corrupt(path, name + " is " + checksum::text(value) + ", outside (" +
                                            checksum::text(rule.lo) + ", " +
                                            checksum::text(rule.hi) + "]"));
    }
  }
}

// The input generator's position (attributes already checked): every registered task's
// fields, those a checkpoint lacks at their value for that case.
InputGenerator::State read_generator(const H5Input& in) {
  InputGenerator::State g;
  const auto tasks = input_tasks().names();
  g.task = in.attribute_kind("/checkpoint", "generator_task") == H5Input::Kind::missing
               ? tasks.front()
               : tasks[static_cast<std::size_t>(in.int_attribute("/checkpoint", "generator_task"))];
  for (const auto& [task, entry] : input_tasks().entries())
    for (const PositionField& field : entry.position) {
      const std::string name = "generator_" + field.name;
      const bool absent = in.attribute_kind("/checkpoint", name) == H5Input::Kind::missing;
      if (field.real)
        g.position.set_real(field.name,
                            absent ? *field.when_absent : in.double_attribute("/checkpoint", name));
      else
        g.position.set_integer(field.name, absent ? static_cast<std::int64_t>(*field.when_absent)
                                                  : in.int_attribute("/checkpoint", name));
    }
  return g;
}

// The run's keys from /config (strings; program_version and n_ranks apart), after checking the
// attributes of /config and /checkpoint against /checkpoint:attributes_checksum.
std::vector<std::pair<std::string, std::string>> read_config_attributes(const H5Input& in,
                                                                        const std::string& path) {
  using Kind = H5Input::Kind;
  check_kind(in, path, "/config", "n_ranks", Kind::integer);
  check_kind(in, path, "/config", "program_version", Kind::string);
  std::vector<std::pair<std::string, std::string>> config;
  std::uint64_t sum = 0;
  for (auto& [key, value] : in.attributes("/config")) {
    sum += checksum::of_attribute("/config", key, value);
    if (key == "program_version" || key == "n_ranks") continue;
    check_kind(in, path, "/config", key, Kind::string);
    config.emplace_back(key, value);
  }
  for (auto& [key, value] : in.attributes("/checkpoint"))
    if (key != "attributes_checksum") sum += checksum::of_attribute("/checkpoint", key, value);
  if (sum != static_cast<std::uint64_t>(in.int_attribute("/checkpoint", "attributes_checksum")))
    throw ConfigError(corrupt(path,
                              "the attributes of /config and /checkpoint do not match "
                              "/checkpoint:attributes_checksum"));
  return config;
}

}  // namespace

CheckpointHeader read_checkpoint_header(const std::string& path) {
  // A FIFO or a device is refused, never opened; so is a file too short to be HDF5 (a "regular"
  // file of /proc, such as /proc/kmsg, has size 0 and would block the HDF5 library's read).
  if (const std::uint64_t size = regular_file_size("--restore", path); size < 8)
    throw ConfigError("--restore '" + path + "' is not a seqlearn checkpoint (" +
                      std::to_string(size) + " bytes)");
  try {
    const H5Input in(path);
    if (!in.exists("/checkpoint") || !in.exists("/config"))
      throw std::runtime_error("it has no /checkpoint and /config groups");
    check_checkpoint_attributes(in, path);
    CheckpointHeader header;
    header.step = in.int_attribute("/checkpoint", "step");
    header.learning_steps =
        static_cast<std::uint64_t>(in.int_attribute("/checkpoint", "learning_steps"));
    if (header.learning_steps > static_cast<std::uint64_t>(header.step))
      throw ConfigError(
          corrupt(path, "/checkpoint:learning_steps is " + std::to_string(header.learning_steps) +
                            ", more than /checkpoint:step " + std::to_string(header.step)));
    header.generator = read_generator(in);
    header.config = read_config_attributes(in, path);
    header.remaining_protocol = in.string_attribute("/checkpoint", "remaining_protocol");
    header.continues_phase = in.int_attribute("/checkpoint", "continues_phase") != 0;
    header.n_ranks = static_cast<int>(in.int_attribute("/config", "n_ranks"));
    return header;
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError("--restore '" + path + "' is not a seqlearn checkpoint: " + e.what());
  }
}

}  // namespace seqlearn
