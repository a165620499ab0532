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
#include <bit>
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

// The circuits whose spikes a rank needs (its own and its sources' circuits, docs/design.md
// 2), as a bitmap over the global circuits. The exchange keeps a word when its circuit's bit
// is set; the bitmap is a power of two in size, so that the circuit field of any word (a
// control word's payload included) indexes it without a bounds check.
class CircuitSet {
 public:
  CircuitSet() = default;
  // Circuits [0, n_circuits), with those listed in `members` set.
  template <class Range>
  CircuitSet(std::uint64_t n_circuits, const Range& members) : CircuitSet(n_circuits) {
    for (auto c : members) insert(static_cast<std::uint64_t>(c));
  }
  // Every circuit of [0, n_circuits) set.
  static CircuitSet all(std::uint64_t n_circuits) {
    CircuitSet set(n_circuits);
    for (std::uint64_t c = 0; c < n_circuits; ++c) set.insert(c);
    return set;
  }
  void insert(std::uint64_t circuit) { bits_[circuit >> 6] |= std::uint64_t{1} << (circuit & 63); }
  bool contains(std::uint64_t circuit) const { return bit(circuit & mask_) != 0; }
  std::uint64_t size() const;  // circuits set

  // 1 if the circuit field of `word` is in the set, for any word (no branch).
  std::uint64_t keeps(std::uint64_t word) const {
    return bit((word >> ExchangeWord::kCircuitShift) & mask_);
  }

 private:
  explicit CircuitSet(std::uint64_t n_circuits) {
    std::uint64_t capacity = 64;
    while (capacity < n_circuits) capacity *= 2;
    bits_.assign(capacity / 64, 0);
    mask_ = capacity - 1;
  }
  std::uint64_t bit(std::uint64_t c) const { return (bits_[c >> 6] >> (c & 63)) & 1; }

  std::vector<std::uint64_t> bits_ = std::vector<std::uint64_t>(1, 0);
  std::uint64_t mask_ = 63;
};

inline std::uint64_t CircuitSet::size() const {
  std::uint64_t n = 0;
  for (auto word : bits_) n += static_cast<std::uint64_t>(std::popcount(word));
  return n;
}

// What travels per spike or control message is an item of two 64-bit values (16 bytes; the
// benchmark figures' "words", received_words and walk_ns_per_word, count items): an
// ExchangeWord and its payload, for a spike the amplitude
// R*u its source's owner computed when it fired (M6, M12-M14: "owner computes", docs/design.md
// 2), as the bits of a double; 0 for a control word. So a rank that listens to a neuron keeps
// no STP state of it, and no two ranks compute the same amplitude.
constexpr std::size_t kItemWords = 2;

// A received spike: the word, and the amplitude its owner computed.
struct ReceivedSpike : ExchangeWord {
  double amplitude = 0;
};

// What one exchange brought to this rank.
struct ReceivedExchange {
  std::vector<ReceivedSpike> spikes;  // the needed ones of every rank, by step offset, then neuron
  bool stop = false;                  // some rank asked to stop
  std::optional<Divergence> divergence;  // the earliest over all ranks
  std::uint64_t words = 0;               // items received, spikes and control words, needed or not
  // Scratch, reused from interval to interval (no allocation on the hot path).
  std::vector<std::uint64_t> kept;          // the items kept by the filter
  std::vector<std::uint32_t> bucket_begin;  // counting sort by (step offset, grid row)
  std::vector<std::uint32_t> bucket;        // per kept item: its (step offset, grid row)
};

// The grid's rows, for the order of received spikes: circuit c lies in row c / cols. The default
// is one row of every circuit (strips: the ranks' ids ascend with the rank, so the order by step
// is id order already).
class GridRows {
 public:
  GridRows() = default;
  GridRows(std::uint64_t rows, std::uint64_t cols)
      : rows_(rows), cols_(cols), inverse_cols_(1.0 / static_cast<double>(cols)) {}
  std::uint64_t rows() const { return rows_; }
  // c / cols without a division (the product's rounding is off by at most one, and corrected).
  std::uint64_t row(std::uint64_t circuit) const {
    auto r = static_cast<std::uint64_t>(static_cast<double>(circuit) * inverse_cols_);
    if (r * cols_ > circuit) --r;
    if ((r + 1) * cols_ <= circuit) ++r;
    return r;
  }

 private:
  std::uint64_t rows_ = 1;
  std::uint64_t cols_ = ExchangeWord::kMaxCircuits;
  double inverse_cols_ = 1.0 / static_cast<double>(ExchangeWord::kMaxCircuits);
};

// Decodes the concatenation of every rank's items (in rank order, as all_gather returns it;
// or the part of them sent to this rank, in the same order) into `received`, keeping the
// spikes of the circuits in `needed` and every control word.
//
// Two passes, so that an item the rank does not need costs two loads, a bitmap test and two
// stores (no branch; bench/exchange_walk.sh): the filter compacts the items it keeps, then
// those are decoded and sorted by step offset and grid row (a stable counting sort). Every
// rank posts its spikes by step and, within a step, by ascending id, and the ranks that own
// circuits of one grid row come in the order of those circuits (strips: ascending ranges by
// rank; tiles: a band's ranks by column range, partition.hpp), so within a step and row the
// spikes end in id order: the same order on every rank whatever the decomposition
// (docs/design.md 1). Should a partition ever break that, the spikes are sorted (checked, one
// comparison per spike). The buckets, one per (step, row) of the interval, are used only while
// they are not many more than the items: a grid of a million rows in tiles with a delay of 1,000
// steps would otherwise clear a billion of them (4 GB) per exchange. Beyond that the spikes are
// decoded in arrival order and sorted by their words.
inline void receive_exchange(const std::vector<std::uint64_t>& items, std::int64_t interval_steps,
                             const CircuitSet& needed, ReceivedExchange& received,
                             const GridRows& grid = {}) {
  received.spikes.clear();
  received.stop = false;
  received.divergence.reset();
  if (items.size() % kItemWords != 0)
    throw std::logic_error("spike exchange: a word without its payload");
  received.words = items.size() / kItemWords;
  std::vector<std::uint64_t>& kept = received.kept;
  if (kept.size() < items.size()) kept.resize(items.size());
  std::size_t n_kept = 0;  // words
  for (std::size_t i = 0; i < items.size(); i += kItemWords) {
    const std::uint64_t word = items[i];
    kept[n_kept] = word;
    kept[n_kept + 1] = items[i + 1];
    n_kept += kItemWords * (needed.keeps(word) |
                            static_cast<std::uint64_t>((word >> ExchangeWord::kKindShift) != 0));
  }
  const std::uint64_t n_buckets_wanted = static_cast<std::uint64_t>(interval_steps) * grid.rows();
  const bool by_buckets = n_buckets_wanted <= 4 * (n_kept / kItemWords) + 65536;
  const std::uint64_t rows = by_buckets ? grid.rows() : 1;  // one bucket per step, then sorted
  std::vector<std::uint32_t>& begin = received.bucket_begin;
  std::vector<std::uint32_t>& bucket = received.bucket;  // per kept item: (step, row)
  begin.assign(static_cast<std::size_t>(interval_steps) * rows + 1, 0);
  if (bucket.size() < n_kept / kItemWords) bucket.resize(n_kept / kItemWords);
  for (std::size_t i = 0; i < n_kept; i += kItemWords) {
    const ExchangeWord word(kept[i]);
    switch (word.kind()) {
      case ExchangeWord::Kind::spike: {
        const std::uint64_t row = rows == 1 ? 0 : grid.row(word.circuit());
        if (word.step_offset() >= interval_steps || row >= rows)
          throw std::logic_error("spike exchange: a spike beyond the interval or the grid");
        bucket[i / kItemWords] =
            static_cast<std::uint32_t>(static_cast<std::uint64_t>(word.step_offset()) * rows + row);
        ++begin[bucket[i / kItemWords] + 1];
        break;
      }
      case ExchangeWord::Kind::stop:
        received.stop = true;
        break;
      case ExchangeWord::Kind::diverged_step: {
        // A rank sends its report as a (step, neuron) pair of adjacent items.
        i += kItemWords;
        if (i >= n_kept || ExchangeWord(kept[i]).kind() != ExchangeWord::Kind::diverged_neuron)
          throw std::logic_error("spike exchange: a divergence step without its neuron");
        const Divergence d{static_cast<std::int64_t>(word.payload()),
                           ExchangeWord(kept[i]).payload()};
        if (!received.divergence || d < *received.divergence) received.divergence = d;
        break;
      }
      default:
        throw std::logic_error("spike exchange: unknown control word");
    }
  }
  for (std::size_t b = 1; b < begin.size(); ++b) begin[b] += begin[b - 1];
  received.spikes.resize(begin.back());
  for (std::size_t i = 0; i < n_kept; i += kItemWords) {
    const ExchangeWord word(kept[i]);
    if (!word.is_spike()) continue;
    ReceivedSpike& spike = received.spikes[begin[bucket[i / kItemWords]]++];
    static_cast<ExchangeWord&>(spike) = word;
    spike.amplitude = std::bit_cast<double>(kept[i + 1]);
  }
  auto by_step_and_id = [](const ReceivedSpike& a, const ReceivedSpike& b) {
    return a.bits() < b.bits();
  };
  if (!std::is_sorted(received.spikes.begin(), received.spikes.end(), by_step_and_id))
    std::sort(received.spikes.begin(), received.spikes.end(), by_step_and_id);
}

// The same for words without payloads (amplitude 0), for a rank that needs every circuit that
// occurs in them (tests).
inline ReceivedExchange receive_exchange(const std::vector<std::uint64_t>& words,
                                         std::int64_t interval_steps) {
  std::uint64_t n_circuits = 1;
  std::vector<std::uint64_t> items;
  for (const std::uint64_t bits : words) {
    if (ExchangeWord(bits).is_spike())
      n_circuits = std::max(n_circuits, ExchangeWord(bits).circuit() + 1);
    items.push_back(bits);
    items.push_back(0);
  }
  ReceivedExchange received;
  receive_exchange(items, interval_steps, CircuitSet::all(n_circuits), received);
  return received;
}

}  // namespace seqlearn
