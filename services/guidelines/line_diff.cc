// File: services/guidelines/line_diff.cc
#include "services/guidelines/line_diff.h"

#include <algorithm>

namespace concord::guidelines {
namespace {

using Lines = std::vector<std::string_view>;

// Myers' greedy forward search over a[lo_a, hi_a) x b[lo_b, hi_b) after the common prefix and
// suffix are trimmed. trace[d] holds V for step d, indexed k + d (k in [-d, d]).
bool ShortestEdit(const Lines& a, const Lines& b, size_t lo_a, size_t hi_a, size_t lo_b,
                  size_t hi_b, int max_edits, std::vector<std::vector<int>>& trace) {
  const int n = static_cast<int>(hi_a - lo_a);
  const int m = static_cast<int>(hi_b - lo_b);
  for (int d = 0; d <= std::min(max_edits, n + m); ++d) {
    std::vector<int> v(2 * d + 1);
    const std::vector<int>* prev = d == 0 ? nullptr : &trace.back();
    auto prev_at = [&](int k) { return (*prev)[k + d - 1]; };
    for (int k = -d; k <= d; k += 2) {
      int x;
      if (d == 0) {
        x = 0;
      } else if (k == -d || (k != d && prev_at(k - 1) < prev_at(k + 1))) {
        x = prev_at(k + 1);  // down: an insertion
      } else {
        x = prev_at(k - 1) + 1;  // right: a deletion
      }
      int y = x - k;
      while (x < n && y < m && a[lo_a + x] == b[lo_b + y]) {
        ++x;
        ++y;
      }
      v[k + d] = x;
      if (x >= n && y >= m) {
        trace.push_back(std::move(v));
        return true;
      }
    }
    trace.push_back(std::move(v));
  }
  return false;
}

}  // namespace

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::vector<DiffOp> LineDiff(std::string_view from, std::string_view to, int max_edits) {
  const Lines a = SplitLines(from);
  const Lines b = SplitLines(to);
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  const size_t hi_a = a.size() - suffix;
  const size_t hi_b = b.size() - suffix;

  std::vector<DiffOp> middle;  // built backwards
  std::vector<std::vector<int>> trace;
  auto equal = [&](size_t i, size_t j) {
    return DiffOp{DiffOp::Kind::kEqual, std::string(a[i]), static_cast<int>(i + 1),
                  static_cast<int>(j + 1)};
  };
  auto del = [&](size_t i) {
    return DiffOp{DiffOp::Kind::kDelete, std::string(a[i]), static_cast<int>(i + 1), 0};
  };
  auto ins = [&](size_t j) {
    return DiffOp{DiffOp::Kind::kInsert, std::string(b[j]), 0, static_cast<int>(j + 1)};
  };
  if (ShortestEdit(a, b, prefix, hi_a, prefix, hi_b, max_edits, trace)) {
    int x = static_cast<int>(hi_a - prefix);
    int y = static_cast<int>(hi_b - prefix);
    for (int d = static_cast<int>(trace.size()) - 1; d > 0; --d) {
      const std::vector<int>& prev = trace[d - 1];
      auto prev_at = [&](int k) { return prev[k + d - 1]; };
      const int k = x - y;
      const bool down = k == -d || (k != d && prev_at(k - 1) < prev_at(k + 1));
      const int prev_k = down ? k + 1 : k - 1;
      const int prev_x = prev_at(prev_k);
      const int prev_y = prev_x - prev_k;
      while (x > prev_x && y > prev_y) {
        middle.push_back(equal(prefix + x - 1, prefix + y - 1));
        --x;
        --y;
      }
      if (down) {
        middle.push_back(ins(prefix + y - 1));
      } else {
        middle.push_back(del(prefix + x - 1));
      }
      x = prev_x;
      y = prev_y;
    }
    while (x > 0 && y > 0) {
      middle.push_back(equal(prefix + x - 1, prefix + y - 1));
      --x;
      --y;
    }
    std::reverse(middle.begin(), middle.end());
  } else {
    for (size_t i = prefix; i < hi_a; ++i) middle.push_back(del(i));
    for (size_t j = prefix; j < hi_b; ++j) middle.push_back(ins(j));
  }

  std::vector<DiffOp> out;
  out.reserve(prefix + middle.size() + suffix);
  for (size_t i = 0; i < prefix; ++i) out.push_back(equal(i, i));
  for (DiffOp& op : middle) out.push_back(std::move(op));
  for (size_t s = suffix; s > 0; --s) out.push_back(equal(a.size() - s, b.size() - s));
  return out;
}

}  // namespace concord::guidelines
