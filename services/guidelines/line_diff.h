// File: services/guidelines/line_diff.h
//
// A line diff of two texts (Myers' O(ND) algorithm, the one of `diff` and git): the shortest
// sequence of deleted and inserted lines that turns `from` into `to`, interleaved with the equal
// lines, in order. Used by Diff to show what changed between two versions of a guideline.
//
// Bounded: texts are at most 256 KiB (a version's body), and the search stops after
// `max_edits` edits (default 2000; its memory is O(max_edits^2) ints, 16 MB at the default):
// beyond that the result is "every line of `from` deleted, every line of `to` inserted", which
// is still a correct (if long) diff.
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace concord::guidelines {

struct DiffOp {
  enum class Kind { kEqual, kDelete, kInsert };
  Kind kind = Kind::kEqual;
  std::string text;   // the line, without its "\n"
  int from_line = 0;  // 1-based line of `from` (0 for an insertion)
  int to_line = 0;    // 1-based line of `to` (0 for a deletion)
};

/// Lines of `text`, split on "\n"; a final "\n" does not start an empty last line.
std::vector<std::string_view> SplitLines(std::string_view text);

std::vector<DiffOp> LineDiff(std::string_view from, std::string_view to, int max_edits = 2000);

}  // namespace concord::guidelines
