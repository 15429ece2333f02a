#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace lab {

/// Whether standard error is a terminal. A progress bar helps there; in a CI log or a file it
/// would only leave carriage returns behind. false where the platform cannot tell.
[[nodiscard]] bool stderr_is_terminal() noexcept;

/// A one-line progress bar, redrawn in place with a carriage return:
///   "  baseline  ███████████░░░░░░░░░░░░░  45%"
/// Redraws only when what it shows changes, so frequent updates cost little. Does nothing at
/// all when constructed disabled. Not thread-safe.
class progress_bar {
 public:
  progress_bar(std::ostream& out, bool enabled) : out_{out}, enabled_{enabled} {}
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;
  ~progress_bar() { clear(); }

  /// Shows `label` and `fraction` (clamped to [0, 1]) done.
  void update(std::string_view label, double fraction);
  /// Erases the bar, e.g. before printing to a stream that shares the terminal.
  void clear();

 private:
  std::ostream& out_;
  bool enabled_;
  bool shown_ = false;
  std::string label_;
  int percent_ = -1;
};

}  // namespace lab
