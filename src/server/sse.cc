#include "server/sse.h"

namespace kvs::server {

std::string SseData(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out += "data: ";
  out += payload;
  out += "\n\n";
  return out;
}

std::string SseDone() { return "data: [DONE]\n\n"; }

std::string SseComment(std::string_view text) { return ": " + std::string(text) + "\n\n"; }

std::vector<std::string> ParseSseData(std::string_view stream) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t end = stream.find("\n\n", pos);
    if (end == std::string_view::npos) break;
    std::string_view event = stream.substr(pos, end - pos);
    pos = end + 2;
    // An event may have several lines; data lines are joined with "\n".
    std::string data;
    bool has_data = false;
    size_t line_start = 0;
    while (line_start <= event.size()) {
      size_t nl = event.find('\n', line_start);
      std::string_view line =
          event.substr(line_start, nl == std::string_view::npos ? event.npos : nl - line_start);
      if (line.substr(0, 5) == "data:") {
        std::string_view value = line.substr(5);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        if (has_data) data += '\n';
        data += value;
        has_data = true;
      }
      if (nl == std::string_view::npos) break;
      line_start = nl + 1;
    }
    if (has_data) out.push_back(std::move(data));
  }
  return out;
}

}  // namespace kvs::server
