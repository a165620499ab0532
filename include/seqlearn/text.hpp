// The text helpers of every reader of text (the option table and config file in config*.cpp,
// the CSV files of the file task and of forced spikes in input_files.cpp / forced_spikes.cpp):
// one definition of trimming, splitting, number parsing and the UTF-8 byte-order mark.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqlearn {

// `text` without leading and trailing blanks (space, tab, CR, LF).
std::string trim(const std::string& text);

// The parts of `text` between `separator`s, each trimmed; a trailing separator gives a last,
// empty part ("a," -> {"a", ""}), an empty text none.
std::vector<std::string> split(const std::string& text, char separator);

// A finite number, the whole (trimmed) text; false otherwise.
bool parse_double(const std::string& text, double& out);

// A decimal integer that fits int64, the whole (trimmed) text; false otherwise.
bool parse_int(const std::string& text, std::int64_t& out);

// Removes a UTF-8 byte-order mark at the start of `text`, if any.
void strip_byte_order_mark(std::string& text);

}  // namespace seqlearn
