// Checkpoints (DESIGN.md principle 6): everything a run needs to continue bit-identically, in
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

#include "seqlearn/hdf5_file.hpp"
#include "seqlearn/simulator.hpp"

#ifndef SEQLEARN_VERSION
#define SEQLEARN_VERSION "unknown"
#endif

namespace seqlearn {

std::uint32_t Simulator::source_index_of_neuron(std::uint64_t neuron) const {
  const std::int64_t circuit = network_.circuit_of(neuron);
  const std::int32_t i = needed_index_of_circuit_[static_cast<std::size_t>(circuit)];
  return needed_first_source_[static_cast<std::size_t>(i)] +
         static_cast<std::uint32_t>(neuron - network_.first_neuron(circuit));
}

std::uint64_t Simulator::global_source_id(std::uint32_t j) const {
  if (j < static_cast<std::uint32_t>(config_.n_inputs)) return j;
  const auto it = std::upper_bound(needed_first_source_.begin(), needed_first_source_.end(), j) - 1;
  const auto circuit =
      needed_circuits_[static_cast<std::size_t>(it - needed_first_source_.begin())];
  return static_cast<std::uint64_t>(config_.n_inputs) + network_.first_neuron(circuit) + (j - *it);
}

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

    file.write_concatenated("/synapses/weight", weight_);
    file.write_concatenated("/synapses/variance_tracking_mean", vt_mean_);
    file.write_concatenated("/synapses/variance_tracking_second_moment", vt_second_);

    // Sources: rank 0 writes the input channels, which precede neuron 0, so every rank's
    // block [first, last) is contiguous.
    const auto n_inputs = static_cast<std::uint64_t>(config_.n_inputs);
    const std::uint64_t first = comm_.rank() == 0 ? 0 : n_inputs + neuron_begin_;
    const std::uint64_t last = n_inputs + neuron_end_;
    std::vector<double> decay, rise, R, u;
    std::vector<std::int64_t> last_spike;
    for (std::uint64_t id = first; id < last; ++id) {
      const std::uint32_t j =
          id < n_inputs ? static_cast<std::uint32_t>(id) : source_index_of_neuron(id - n_inputs);
      decay.push_back(trace_decay_[j]);
      rise.push_back(trace_rise_[j]);
      R.push_back(stp_R_[j]);
      u.push_back(stp_u_[j]);
      last_spike.push_back(last_spike_[j]);
    }
    const std::uint64_t n_sources = n_inputs + network_.n_neurons();
    file.write_rows("/sources/trace_decay", decay, first, n_sources);
    file.write_rows("/sources/trace_rise", rise, first, n_sources);
    file.write_rows("/sources/stp_R", R, first, n_sources);
    file.write_rows("/sources/stp_u", u, first, n_sources);
    file.write_rows("/sources/last_spike", last_spike, first, n_sources);

    file.write_rows("/neurons/weighted_decay", weighted_decay_, neuron_begin_,
                    network_.n_neurons());
    file.write_rows("/neurons/weighted_rise", weighted_rise_, neuron_begin_, network_.n_neurons());
    file.write_rows("/neurons/readout", readout_, neuron_begin_, network_.n_neurons());

    // Spikes in flight: each arrives at the one step >= step_ whose ring slot holds it.
    std::vector<std::int64_t> pending_step;
    std::vector<std::uint64_t> pending_source;
    std::vector<double> pending_amplitude;
    const auto delay = static_cast<std::int64_t>(arrivals_.size());
    for (std::int64_t ahead = 0; ahead < delay; ++ahead) {
      const std::int64_t arrival = step_ + ahead;
      for (const Arrival& a : arrivals_[static_cast<std::size_t>(arrival % delay)]) {
        const std::uint64_t id = global_source_id(a.source);
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
  const auto [offset, total] = offset_in_concatenation(comm_, weight_.size());
  if (in.length("/synapses/weight") != total)
    throw std::runtime_error("checkpoint '" + path + "' holds " +
                             std::to_string(in.length("/synapses/weight")) +
                             " synapses, the network has " + std::to_string(total));
  weight_ = in.read_rows<double>("/synapses/weight", offset, weight_.size());
  vt_mean_ = in.read_rows<double>("/synapses/variance_tracking_mean", offset, vt_mean_.size());
  vt_second_ =
      in.read_rows<double>("/synapses/variance_tracking_second_moment", offset, vt_second_.size());

  // Sources: the inputs, then each needed circuit's neurons (consecutive circuits read at once).
  auto read_sources = [&](std::uint64_t id, std::uint32_t j, std::uint64_t count) {
    const auto decay = in.read_rows<double>("/sources/trace_decay", id, count);
    const auto rise = in.read_rows<double>("/sources/trace_rise", id, count);
    const auto R = in.read_rows<double>("/sources/stp_R", id, count);
    const auto u = in.read_rows<double>("/sources/stp_u", id, count);
    const auto last = in.read_rows<std::int64_t>("/sources/last_spike", id, count);
    std::copy(decay.begin(), decay.end(), trace_decay_.begin() + j);
    std::copy(rise.begin(), rise.end(), trace_rise_.begin() + j);
    std::copy(R.begin(), R.end(), stp_R_.begin() + j);
    std::copy(u.begin(), u.end(), stp_u_.begin() + j);
    std::copy(last.begin(), last.end(), last_spike_.begin() + j);
  };
  const auto n_inputs = static_cast<std::uint64_t>(config_.n_inputs);
  read_sources(0, 0, n_inputs);
  for (std::size_t i = 0; i < needed_circuits_.size();) {
    std::size_t end = i + 1;  // needed circuits are ascending: extend while consecutive
    while (end < needed_circuits_.size() && needed_circuits_[end] == needed_circuits_[end - 1] + 1)
      ++end;
    const std::uint64_t first_neuron = network_.first_neuron(needed_circuits_[i]);
    const std::uint64_t count = network_.first_neuron(needed_circuits_[end - 1] + 1) - first_neuron;
    read_sources(n_inputs + first_neuron, needed_first_source_[i], count);
    i = end;
  }

  const std::uint64_t n_local = neuron_end_ - neuron_begin_;
  weighted_decay_ = in.read_rows<double>("/neurons/weighted_decay", neuron_begin_, n_local);
  weighted_rise_ = in.read_rows<double>("/neurons/weighted_rise", neuron_begin_, n_local);
  readout_ = in.read_rows<double>("/neurons/readout", neuron_begin_, n_local);

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
  const auto delay = static_cast<std::int64_t>(arrivals_.size());
  for (auto i : order) {
    const std::uint64_t id = pending_source[i];
    Arrival a{};
    a.amplitude = pending_amplitude[i];
    if (id < n_inputs) {
      a.source = static_cast<std::uint32_t>(id);
      a.source_circuit = kInput;
      a.offset = static_cast<std::uint32_t>(id);
    } else {
      const std::uint64_t neuron = id - n_inputs;
      const std::int64_t circuit = network_.circuit_of(neuron);
      const std::int32_t index = needed_index_of_circuit_[static_cast<std::size_t>(circuit)];
      if (index < 0) continue;
      a.source_circuit = static_cast<std::uint32_t>(index);
      a.offset = static_cast<std::uint32_t>(neuron - network_.first_neuron(circuit));
      a.source = needed_first_source_[static_cast<std::size_t>(index)] + a.offset;
    }
    arrivals_[static_cast<std::size_t>(pending_step[i] % delay)].push_back(a);
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
