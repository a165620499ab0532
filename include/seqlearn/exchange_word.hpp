// The 64-bit word of the spike exchange (cf. NEST's spike_data.h): a spike, or a control
// message that rides along with the spikes so that a stop request or a divergence report
// reaches every rank in the same exchange, with no extra collective (docs/design.md 3).
//
//   spike:    [63..56] 0x00   [55..46] step offset in the interval   [45..10] circuit
//             [9..0] position of the neuron in its circuit
//   control:  [63..56] kind   [55..0]  payload
// A spike names its neuron by (circuit, position), the order of neuron ids, so that a rank
// routes it with one table look-up (SpikeRouter::route_neuron) instead of a search.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace seqlearn {

class ExchangeWord {
 public:
  enum class Kind : std::uint8_t {
    spike = 0x00,
    diverged_step = 0xFD,    // payload: the step of a divergence; the next word names the neuron
    diverged_neuron = 0xFE,  // payload: the neuron of that divergence
    stop = 0xFF,             // a rank was asked to stop (SIGTERM/SIGINT)
  };
  static constexpr int kPositionBits = 10;
  static constexpr int kCircuitShift = kPositionBits;
  static constexpr int kOffsetShift = 46;
  static constexpr int kKindShift = 56;
  static constexpr std::uint64_t kMaxCircuitSize = std::uint64_t{1} << kPositionBits;
  static constexpr std::uint64_t kMaxCircuits = std::uint64_t{1} << (kOffsetShift - kCircuitShift);
  static constexpr std::int64_t kMaxIntervalSteps = std::int64_t{1} << (kKindShift - kOffsetShift);
  static constexpr std::uint64_t kPayloadMask = (std::uint64_t{1} << kKindShift) - 1;

  constexpr ExchangeWord() = default;
  constexpr explicit ExchangeWord(std::uint64_t bits) : bits_(bits) {}

  // The neuron at `position` of circuit `circuit` spiked at step `step_offset` of the
  // exchange interval.
  static constexpr ExchangeWord spike(std::int64_t step_offset, std::uint64_t circuit,
                                      std::uint32_t position) {
    return ExchangeWord((static_cast<std::uint64_t>(step_offset) << kOffsetShift) |
                        (circuit << kCircuitShift) | position);
  }
  static constexpr ExchangeWord control(Kind kind, std::uint64_t payload) {
    return ExchangeWord((static_cast<std::uint64_t>(kind) << kKindShift) |
                        (payload & kPayloadMask));
  }

  constexpr Kind kind() const { return static_cast<Kind>(bits_ >> kKindShift); }
  constexpr bool is_spike() const { return kind() == Kind::spike; }
  constexpr std::int64_t step_offset() const {
    return static_cast<std::int64_t>((bits_ & kPayloadMask) >> kOffsetShift);
  }
  constexpr std::uint64_t circuit() const {
    return (bits_ & ((std::uint64_t{1} << kOffsetShift) - 1)) >> kCircuitShift;
  }
  constexpr std::uint32_t position() const {
    return static_cast<std::uint32_t>(bits_ & (kMaxCircuitSize - 1));
  }
  constexpr std::uint64_t payload() const { return bits_ & kPayloadMask; }
  constexpr std::uint64_t bits() const { return bits_; }

 private:
  std::uint64_t bits_ = 0;
};
static_assert(sizeof(ExchangeWord) == sizeof(std::uint64_t));

// The first non-finite value of a run: the earliest step, and at that step the lowest neuron.
struct Divergence {
  std::int64_t step = 0;
  std::uint64_t neuron = 0;
  friend constexpr auto operator<=>(const Divergence&, const Divergence&) = default;
};

// What one exchange brought to this rank.
struct ReceivedExchange {
  std::vector<ExchangeWord> spikes;      // every rank's, by step offset, then neuron
  bool stop = false;                     // some rank asked to stop
  std::optional<Divergence> divergence;  // the earliest over all ranks
};

// Decodes the concatenation of every rank's words (in rank order, as all_gather returns it)
// into `received`, which is reused from interval to interval (no allocation on the hot path).
// Ranks own ascending circuit ranges, so a stable sort by step offset leaves the neurons of
// one step in id order: the same order on every rank whatever the decomposition
// (docs/design.md 1).
inline void receive_exchange(const std::vector<std::uint64_t>& words, std::int64_t interval_steps,
                             ReceivedExchange& received) {
  received.spikes.clear();
  received.stop = false;
  received.divergence.reset();
  for (std::size_t i = 0; i < words.size(); ++i) {
    const ExchangeWord word(words[i]);
    switch (word.kind()) {
      case ExchangeWord::Kind::spike:
        received.spikes.push_back(word);
        break;
      case ExchangeWord::Kind::stop:
        received.stop = true;
        break;
      case ExchangeWord::Kind::diverged_step: {
        // A rank sends its report as a (step, neuron) pair of adjacent words.
        if (i + 1 >= words.size() ||
            ExchangeWord(words[i + 1]).kind() != ExchangeWord::Kind::diverged_neuron)
          throw std::logic_error("spike exchange: a divergence step without its neuron");
        const Divergence d{static_cast<std::int64_t>(word.payload()),
                           ExchangeWord(words[++i]).payload()};
        if (!received.divergence || d < *received.divergence) received.divergence = d;
        break;
      }
      default:
        throw std::logic_error("spike exchange: unknown control word");
    }
  }
  if (interval_steps > 1)
    std::stable_sort(
        received.spikes.begin(), received.spikes.end(),
        [](ExchangeWord a, ExchangeWord b) { return a.step_offset() < b.step_offset(); });
}

inline ReceivedExchange receive_exchange(const std::vector<std::uint64_t>& words,
                                         std::int64_t interval_steps) {
  ReceivedExchange received;
  receive_exchange(words, interval_steps, received);
  return received;
}

}  // namespace seqlearn
