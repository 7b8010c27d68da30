// LineDiff: the shortest line edit script, equal lines kept in order, bounded search.
#include "services/guidelines/line_diff.h"

#include <gtest/gtest.h>

namespace concord::guidelines {
namespace {

std::string Render(const std::vector<DiffOp>& ops) {
  std::string out;
  for (const DiffOp& op : ops) {
    out += op.kind == DiffOp::Kind::kEqual ? " " : op.kind == DiffOp::Kind::kDelete ? "-" : "+";
    out += op.text;
    out += '\n';
  }
  return out;
}

// Applying the script to `from` gives `to`, and its equal lines are common to both.
void ExpectConsistent(std::string_view from, std::string_view to, const std::vector<DiffOp>& ops) {
  std::string a, b;
  for (const DiffOp& op : ops) {
    if (op.kind != DiffOp::Kind::kInsert) (a += op.text) += '\n';
    if (op.kind != DiffOp::Kind::kDelete) (b += op.text) += '\n';
  }
  EXPECT_EQ(a, from);
  EXPECT_EQ(b, to);
}

TEST(LineDiff, SmallestScript) {
  const std::string from = "a\nb\nc\nd\n";
  const std::string to = "a\nc\nd\ne\n";
  const auto ops = LineDiff(from, to);
  EXPECT_EQ(Render(ops), " a\n-b\n c\n d\n+e\n");
  ExpectConsistent(from, to, ops);
  EXPECT_EQ(ops[1].from_line, 2);
  EXPECT_EQ(ops[1].to_line, 0);
  EXPECT_EQ(ops[4].to_line, 4);
}

TEST(LineDiff, ClassicExample) {
  // Myers' paper: ABCABBA -> CBABAC, 5 edits.
  auto lines = [](std::string s) {
    std::string out;
    for (char c : s) {
      out.push_back(c);
      out.push_back('\n');
    }
    return out;
  };
  const auto ops = LineDiff(lines("ABCABBA"), lines("CBABAC"));
  int edits = 0;
  for (const DiffOp& op : ops) edits += op.kind != DiffOp::Kind::kEqual;
  EXPECT_EQ(edits, 5);
  ExpectConsistent(lines("ABCABBA"), lines("CBABAC"), ops);
}

TEST(LineDiff, IdenticalAndEmpty) {
  EXPECT_EQ(Render(LineDiff("x\ny\n", "x\ny\n")), " x\n y\n");
  EXPECT_EQ(Render(LineDiff("", "x\n")), "+x\n");
  EXPECT_EQ(Render(LineDiff("x\n", "")), "-x\n");
  EXPECT_TRUE(LineDiff("", "").empty());
}

TEST(LineDiff, BeyondTheBoundStillACorrectScript) {
  std::string from, to;
  for (int i = 0; i < 300; ++i) {
    ((from += 'f') += std::to_string(i)) += '\n';
    ((to += 't') += std::to_string(i)) += '\n';
  }
  const auto ops = LineDiff(from, to, /*max_edits=*/10);
  EXPECT_EQ(ops.size(), 600u);
  ExpectConsistent(from, to, ops);
}

}  // namespace
}  // namespace concord::guidelines
