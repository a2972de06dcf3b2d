// SseParser: incremental parser of a server-sent-events byte stream, as the
// load generator receives it in arbitrary network-sized pieces.
//
// Why incremental: time to first token is the arrival time of the first
// content event, so each event must be seen the moment its terminating blank
// line arrives, not when the whole body is in.
//
// Handles "data:" lines (several are joined with '\n'), ": comment" lines
// (ignored; servers send them as heartbeats), other fields (ignored), and
// "\n", "\r\n" or "\r" line endings. Thread-safety: none; one per stream.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kvs::loadgen {

class SseParser {
 public:
  // Called once per complete event that carried at least one data line,
  // with the event's data (without the trailing newline).
  using EventFn = std::function<void(std::string_view data)>;

  explicit SseParser(EventFn on_event) : on_event_(std::move(on_event)) {}

  // Feeds the next bytes of the stream; fires on_event for each event that
  // these bytes complete.
  void Feed(std::string_view bytes);

  // Bytes of an incomplete line held back, for tests and error messages.
  size_t buffered() const { return line_.size(); }

 private:
  void HandleLine(std::string_view line);

  EventFn on_event_;
  std::string line_;   // the current, incomplete line
  std::string data_;   // data of the current event so far
  bool has_data_ = false;
  bool last_was_cr_ = false;  // a "\r\n" split across two Feed calls
};

}  // namespace kvs::loadgen
