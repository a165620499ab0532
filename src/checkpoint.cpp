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
#include "seqlearn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "seqlearn/hdf5_file.hpp"
#include "seqlearn/scoped_timer.hpp"
#include "seqlearn/simulator.hpp"

#ifndef SEQLEARN_VERSION
#define SEQLEARN_VERSION "unknown"
#endif

namespace seqlearn {

// The protocol still to run from step_, as run.protocol text; `continues` tells whether its
// first phase is the rest of the current one.
std::string Simulator::remaining_protocol(bool& continues) const {
  std::ostringstream text;
  text.precision(17);
  std::size_t next = phase_index_;
  continues = false;
  if (phase_index_ < config_.protocol.size() && step_ < phase_end_) {
    const Phase& phase = config_.protocol[phase_index_];
    text << to_string(phase.kind) << ":" << static_cast<double>(phase_end_ - step_) * config_.dt_ms;
    continues = true;
    ++next;
  } else if (phase_index_ < config_.protocol.size()) {
    ++next;
  }
  for (std::size_t i = next; i < config_.protocol.size(); ++i) {
    if (text.tellp() > 0) text << ",";
    text << to_string(config_.protocol[i].kind) << ":"
         << static_cast<double>(config_.protocol[i].steps) * config_.dt_ms;
  }
  return text.str();
}

void Simulator::write_checkpoint(const std::string& path) {
  const ScopedCpuTimer not_compute(excluded_cpu_s_);
  const std::string partial = path + ".partial";
  {
    H5File file(partial, comm_);
    file.create_group("/config");
    for (const auto& [key, value] : config_.resolved) file.attribute("/config", key, value);
    file.attribute("/config", "program_version", std::string(SEQLEARN_VERSION));
    file.attribute("/config", "n_ranks", static_cast<std::int64_t>(comm_.size()));

    bool continues = false;
    const std::string remaining = remaining_protocol(continues);
    const InputGenerator::State g = input_.state();
    file.create_group("/checkpoint");
    file.attribute("/checkpoint", "step", step_);
    file.attribute("/checkpoint", "learning_steps", static_cast<std::int64_t>(learning_steps_));
    file.attribute("/checkpoint", "remaining_protocol", remaining);
    file.attribute("/checkpoint", "continues_phase", static_cast<std::int64_t>(continues));
    file.attribute("/checkpoint", "generator_event", static_cast<std::int64_t>(g.event));
    file.attribute("/checkpoint", "generator_in_pattern", static_cast<std::int64_t>(g.in_pattern));
    file.attribute("/checkpoint", "generator_first_sequence",
                   static_cast<std::int64_t>(g.first_sequence));
    file.attribute("/checkpoint", "generator_remaining", g.remaining);
    file.attribute("/checkpoint", "generator_position", g.position);
    file.attribute("/checkpoint", "generator_sequence", static_cast<std::int64_t>(g.sequence));
    file.attribute("/checkpoint", "generator_sequence_position", g.sequence_position);
    file.attribute("/checkpoint", "generator_warp", g.warp);

    // Each state group names its checkpointed arrays once (state.hpp).
    SynapseRows::checkpoint_fields(synapses_, [&](const char* name, const auto& values) {
      file.write_concatenated(std::string("/synapses/") + name, values);
    });

    // Sources, by global source id: rank 0 writes the input channels, which precede neuron 0,
    // so every rank's block [first, last) is contiguous; a neuron's owner writes it.
    const auto n_inputs = static_cast<std::uint64_t>(config_.n_inputs);
    const std::uint64_t first = comm_.rank() == 0 ? 0 : n_inputs + neuron_begin_;
    const std::uint64_t last = n_inputs + neuron_end_;
    std::vector<std::uint32_t> local_sources;
    for (std::uint64_t id = first; id < last; ++id)
      local_sources.push_back(router_.route(id)->source);  // inputs and own neurons: always
    const std::uint64_t n_source_ids = n_inputs + network_.n_neurons();
    SourceState::checkpoint_fields(sources_, [&](const char* name, const auto& values) {
      std::vector<typename std::decay_t<decltype(values)>::value_type> rows;
      rows.reserve(local_sources.size());
      for (auto j : local_sources) rows.push_back(values[j]);
      file.write_rows(std::string("/sources/") + name, rows, first, n_source_ids);
    });

    NeuronState::checkpoint_fields(neurons_, [&](const char* name, const auto& values) {
      file.write_rows(std::string("/neurons/") + name, values, neuron_begin_, network_.n_neurons());
    });

    // Spikes in flight: each arrives at the one step >= step_ whose ring slot holds it.
    std::vector<std::int64_t> pending_step;
    std::vector<std::uint64_t> pending_source;
    std::vector<double> pending_amplitude;
    for (std::int64_t arrival = step_; arrival < step_ + router_.delay_steps(); ++arrival) {
      for (const Arrival& a : router_.arrivals_at(arrival)) {
        const std::uint64_t id = router_.source_id(a.source);
        if (id < first || id >= last) continue;  // its owner writes it
        pending_step.push_back(arrival);
        pending_source.push_back(id);
        pending_amplitude.push_back(a.amplitude);
      }
    }
    file.write_concatenated("/pending/step", pending_step);
    file.write_concatenated("/pending/source", pending_source);
    file.write_concatenated("/pending/amplitude", pending_amplitude);
    file.close();
  }
  publish_file(partial, path, comm_);
}

void Simulator::restore(const std::string& path) {
  const H5Input in(path);
  step_ = first_step_ = in.int_attribute("/checkpoint", "step");
  learning_steps_ = static_cast<std::uint64_t>(in.int_attribute("/checkpoint", "learning_steps"));
  restored_generator_.event =
      static_cast<std::uint64_t>(in.int_attribute("/checkpoint", "generator_event"));
  restored_generator_.in_pattern = in.int_attribute("/checkpoint", "generator_in_pattern") != 0;
  restored_generator_.first_sequence =
      in.int_attribute("/checkpoint", "generator_first_sequence") != 0;
  restored_generator_.remaining = in.int_attribute("/checkpoint", "generator_remaining");
  restored_generator_.position = in.int_attribute("/checkpoint", "generator_position");
  restored_generator_.sequence =
      static_cast<int>(in.int_attribute("/checkpoint", "generator_sequence"));
  restored_generator_.sequence_position =
      in.int_attribute("/checkpoint", "generator_sequence_position");
  restored_generator_.warp = in.double_attribute("/checkpoint", "generator_warp");
  // The event counter runs on across phases: a new phase after the restore needs it too.
  input_.resume(config_.train_input, restored_generator_);

  // Synapses: this rank's rows sit after those of all lower ranks.
  const auto [offset, total] = offset_in_concatenation(comm_, synapses_.size());
  if (in.length("/synapses/weight") != total)
    throw std::runtime_error("checkpoint '" + path + "' holds " +
                             std::to_string(in.length("/synapses/weight")) +
                             " synapses, the network has " + std::to_string(total));
  SynapseRows::checkpoint_fields(synapses_, [&](const char* name, auto& values) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    values = in.read_rows<T>(std::string("/synapses/") + name, offset, values.size());
  });

  // Sources: the inputs, then each run of consecutive needed circuits' neurons.
  router_.for_each_source_run([&](std::uint64_t id, std::uint32_t j, std::uint64_t count) {
    SourceState::checkpoint_fields(sources_, [&](const char* name, auto& values) {
      using T = typename std::decay_t<decltype(values)>::value_type;
      const auto rows = in.read_rows<T>(std::string("/sources/") + name, id, count);
      std::copy(rows.begin(), rows.end(), values.begin() + j);
    });
  });

  NeuronState::checkpoint_fields(neurons_, [&](const char* name, auto& values) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    values = in.read_rows<T>(std::string("/neurons/") + name, neuron_begin_, neurons_.size());
  });

  // Spikes in flight, re-queued in (arrival step, source id) order for the needed sources.
  const std::uint64_t n_pending = in.length("/pending/step");
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
    std::optional<Arrival> arrival = router_.route(pending_source[i]);
    if (!arrival) continue;  // no local synapse listens to it
    arrival->amplitude = pending_amplitude[i];
    router_.arrivals_at(pending_step[i]).push_back(*arrival);
  }

  // Forced spikes resume at the checkpoint's step.
  auto at_step = [&](const std::vector<ForcedSpike>& list) {
    return static_cast<std::size_t>(
        std::lower_bound(list.begin(), list.end(), step_,
                         [](const ForcedSpike& f, std::int64_t s) { return f.step < s; }) -
        list.begin());
  };
  forced_input_cursor_ = at_step(config_.forced.inputs);
  forced_neuron_cursor_ = at_step(config_.forced.neurons);
}

CheckpointHeader read_checkpoint_header(const std::string& path) {
  try {
    const H5Input in(path);
    if (!in.exists("/checkpoint") || !in.exists("/config"))
      throw std::runtime_error("it has no /checkpoint and /config groups");
    CheckpointHeader header;
    for (auto& [key, value] : in.attributes("/config"))
      if (key != "program_version" && key != "n_ranks") header.config.emplace_back(key, value);
    header.step = in.int_attribute("/checkpoint", "step");
    header.remaining_protocol = in.string_attribute("/checkpoint", "remaining_protocol");
    header.continues_phase = in.int_attribute("/checkpoint", "continues_phase") != 0;
    header.n_ranks = static_cast<int>(std::stoi(in.string_attribute("/config", "n_ranks")));
    return header;
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError("--restore '" + path + "' is not a seqlearn checkpoint: " + e.what());
  }
}

}  // namespace seqlearn
