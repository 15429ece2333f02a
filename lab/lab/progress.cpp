#include "lab/progress.hpp"

#include <algorithm>
#include <cmath>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace lab {

bool stderr_is_terminal() noexcept {
#if __has_include(<unistd.h>)
  return ::isatty(STDERR_FILENO) == 1;
#else
  return false;
#endif
}

void progress_bar::update(std::string_view label, double fraction) {
  if (!enabled_) return;
  const int percent = static_cast<int>(std::floor(std::clamp(fraction, 0.0, 1.0) * 100.0));
  if (shown_ && percent == percent_ && label == label_) return;
  percent_ = percent;
  label_ = label;

  constexpr int width = 24;
  const int filled = percent * width / 100;
  std::string line = "\r  " + label_ + "  ";
  for (int i = 0; i < width; ++i)
    line += i < filled ? "█" : "░";
  const std::string number = std::to_string(percent);
  line += std::string(5 - number.size(), ' ') + number + "%\x1b[K";  // erase a longer line's rest
  out_ << line << std::flush;
  shown_ = true;
}

void progress_bar::clear() {
  if (!shown_) return;
  out_ << "\r\x1b[K" << std::flush;
  shown_ = false;
}

}  // namespace lab
