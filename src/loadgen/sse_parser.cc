#include "loadgen/sse_parser.h"

namespace kvs::loadgen {

void SseParser::Feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\n' && last_was_cr_) {  // second half of "\r\n": line already ended
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = (c == '\r');
    if (c == '\n' || c == '\r') {
      HandleLine(line_);
      line_.clear();
    } else {
      line_.push_back(c);
    }
  }
}

void SseParser::HandleLine(std::string_view line) {
  if (line.empty()) {  // a blank line ends the event
    if (has_data_) on_event_(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment / heartbeat
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return;  // event:, id:, retry: carry nothing we time
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

}  // namespace kvs::loadgen
