// Checksums of checkpoint contents (docs/checkpoint.md "Checksums").
//
// A dataset's checksum is the sum, modulo 2^64, of mix(position, bits of the element) over its
// elements: each rank sums the elements it writes or reads, at their global positions, and the
// ranks' sums are added with Communicator::sum. The result depends only on the values and
// their positions, never on how many ranks wrote or read them. Any change of an element's
// bits (or of its position) changes its term; the terms are 64-bit mixes, so two changes
// cancel with probability 2^-64.
//
// The attributes of /config and /checkpoint have one checksum together, the same kind of sum
// over mix(name, text), with numbers as text the way H5Input::attributes prints them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

namespace seqlearn::checksum {

// The finaliser of SplitMix64 (Steele, Lea and Flood 2014): a bijective 64-bit mix.
constexpr std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Sum of the terms of `count` elements starting at global position `offset`.
template <class T>
std::uint64_t of_elements(const T* values, std::uint64_t count, std::uint64_t offset) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &values[i], sizeof(T));
    sum += mix(bits ^ mix(offset + i));
  }
  return sum;
}

// FNV-1a of a text.
inline std::uint64_t of_text(const std::string& text) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

// The term of one attribute `object:name` whose value prints as `text`.
inline std::uint64_t of_attribute(const std::string& object, const std::string& name,
                                  const std::string& text) {
  return mix(of_text(object + ":" + name) ^ mix(of_text(text)));
}

// Attribute values as text, as H5Input::attributes prints them.
inline std::string text(std::int64_t value) {
  return std::to_string(value);
}
inline std::string text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}
inline std::string text(const std::string& value) {
  return value;
}

}  // namespace seqlearn::checksum
