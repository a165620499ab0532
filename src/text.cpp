#include "seqlearn/text.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace seqlearn {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(trim(part));
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

bool parse_double(const std::string& text, double& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(out);
}

bool parse_int(const std::string& text, std::int64_t& out) {
  const std::string t = trim(text);
  const auto result = std::from_chars(t.data(), t.data() + t.size(), out);
  return !t.empty() && result.ec == std::errc() && result.ptr == t.data() + t.size();
}

void strip_byte_order_mark(std::string& text) {
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
}

}  // namespace seqlearn
