#!/usr/bin/env python3
"""docs/security.md keeps its promise: every claim names a test that exists, or is a known gap.

Usage: security_proofs_test.py REPO_ROOT [DOC]   (DOC defaults to REPO_ROOT/docs/security.md)

Checks, and fails naming the line of every violation:
  1. The table of "## Threats, controls and proofs" has the header
     `threat | control | test that proves it`; every row has three cells; a row whose third cell
     starts with "known gap" must start its threat with "Known gap:"; every other row names at
     least one test in backticks in its third cell. A test reference is
       - a gtest `Suite.Name` defined by TEST, TEST_F or TEST_P in tests/ (a `*` glob is allowed:
         `Suite.*`, `Suite.*Pod*`, and must match at least one test),
       - a ctest name (`integration.x`, `deploy.x`, `envelope.x`...) of tests/**/CMakeLists.txt,
       - a test file: a path under tests/ or a `*_test.*` file anywhere (`tests/x/y_test.cc`,
         `deploy/prometheus/alerts_test.yml`), or a script's base name found under tests/
         (`concordctl_keys_e2e_test.sh`, `grpc_probe.py messaging`),
       - a Prometheus alert (`ConcordX`) of deploy/prometheus/alerts.yml with a unit test in
         deploy/prometheus/alerts_test.yml.
     Each must exist. A bare test name without its suite and an abbreviated name (`...Pod...`)
     fail: a reader must be able to run exactly what the row cites. Other backticked text (a
     status code, a reason, a command) only describes the check.
  2. Elsewhere on the page, a backticked `Suite.Name`, `integration.*` or `deploy.*` ctest name,
     repository path or alert, and an unquoted tests/... path, must exist too.
"""

import fnmatch
import os
import re
import sys

GTEST_DEF = re.compile(r"\b(?:TYPED_)?TEST(?:_F|_P)?\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)")
CTEST_DEF = re.compile(r"add_test\s*\(\s*NAME\s+([\w.\-]+)")
ALERT_DEF = re.compile(r"^\s*-\s*alert:\s*(\w+)\s*$", re.M)
ALERT_TEST = re.compile(r"^\s*alertname:\s*(\w+)\s*$", re.M)

GTEST_REF = re.compile(r"^[A-Z]\w*\.(?:\*|[A-Z*][\w*]*)$")
CTEST_REF = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
PATH_REF = re.compile(
    r"^[\w.\-]+(?:/[\w.\-]+)+\.(?:cc|h|sh|py|md|yml|yaml|json|acl|conf|proto|txt|mjs)$")
SCRIPT_REF = re.compile(r"^([\w\-]+\.(?:sh|py|cc))(?: .*)?$")
ALERT_REF = re.compile(r"^Concord[A-Z]\w+$")
BARE_TEST_NAME = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*){2,}$")

PROOF_SECTION = "## Threats, controls and proofs"


class Tree:
    """What exists in the repository: gtest names, ctest names, test files, tested alerts."""

    def __init__(self, root):
        self.root = root
        self.gtests = set()
        self.ctests = set()
        self.test_files = {}  # base name -> relative paths
        tests_dir = os.path.join(root, "tests")
        for dirpath, dirnames, filenames in os.walk(tests_dir):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                self.test_files.setdefault(name, []).append(rel)
                if name.endswith((".cc", ".h")):
                    with open(path, encoding="utf-8") as f:
                        for suite, test in GTEST_DEF.findall(f.read()):
                            self.gtests.add(suite + "." + test)
                elif name == "CMakeLists.txt":
                    with open(path, encoding="utf-8") as f:
                        self.ctests.update(CTEST_DEF.findall(f.read()))
        prom = os.path.join(root, "deploy", "prometheus")
        with open(os.path.join(prom, "alerts.yml"), encoding="utf-8") as f:
            self.alerts = set(ALERT_DEF.findall(f.read()))
        with open(os.path.join(prom, "alerts_test.yml"), encoding="utf-8") as f:
            self.tested_alerts = set(ALERT_TEST.findall(f.read()))
        self.ctest_prefixes = {name.split(".", 1)[0] for name in self.ctests}

    def gtest_exists(self, ref):
        if "*" in ref:
            return any(fnmatch.fnmatchcase(name, ref) for name in self.gtests)
        return ref in self.gtests


def split_cells(line):
    """Splits a Markdown table row on '|' outside code spans."""
    cells, cell, in_code = [], [], False
    for ch in line.strip():
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(ch)
    cells.append("".join(cell).strip())
    # A row starts and ends with '|': drop the empty outer cells.
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    return cells


def code_spans(text):
    return re.findall(r"`([^`]+)`", text)


def classify(tree, token, in_proof_cell):
    """Checks one backticked token. Returns (names_a_test, error or None).

    Tokens that look like a reference to a test, a test file or an alert must exist; a bare test
    name without its suite and an abbreviated name are refused; anything else (a command, a status
    code, a field) only describes the check and is not a reference."""
    if ("\u2026" in token or "..." in token) and re.search(r"[A-Z][a-z0-9]+[A-Z]", token):
        return False, "`" + token + "` is abbreviated: cite the test's full name"
    if PATH_REF.match(token):
        if not os.path.isfile(os.path.join(tree.root, token)):
            return False, "no such file: " + token
        base = os.path.basename(token)
        return token.startswith("tests/") or "_test." in base, None
    if GTEST_REF.match(token):
        ok = tree.gtest_exists(token)
        return True, None if ok else "no gtest named " + token + " in tests/"
    if CTEST_REF.match(token) and token.split(".", 1)[0] in tree.ctest_prefixes:
        if token.split(".", 1)[0] in ("integration", "deploy") or in_proof_cell:
            ok = token in tree.ctests
            return True, None if ok else "no ctest named " + token + " in tests/**/CMakeLists.txt"
        return False, None  # e.g. the field path `envelope.case_reference` in prose
    m = SCRIPT_REF.match(token)
    if m and (in_proof_cell or "_test." in m.group(1)):
        ok = m.group(1) in tree.test_files
        return True, None if ok else "no file named " + m.group(1) + " under tests/"
    if ALERT_REF.match(token):
        if token not in tree.alerts:
            return True, "no alert " + token + " in deploy/prometheus/alerts.yml"
        if in_proof_cell and token not in tree.tested_alerts:
            return True, "alert " + token + " has no test in deploy/prometheus/alerts_test.yml"
        return True, None
    if BARE_TEST_NAME.match(token):
        suites = sorted(n for n in tree.gtests if n.endswith("." + token))
        if suites:
            return False, "`" + token + "` needs its suite: " + " or ".join(suites)
    return False, None


def check_proof_table(tree, lines, errors):
    start = next((i for i, l in enumerate(lines) if l.strip() == PROOF_SECTION), None)
    if start is None:
        errors.append("no section '" + PROOF_SECTION + "'")
        return 0, 0
    rows = 0
    cited = 0
    header_seen = False
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            continue
        cells = split_cells(line)
        where = "line %d" % (i + 1)
        if not header_seen:
            if [c.lower() for c in cells] != ["threat", "control", "test that proves it"]:
                errors.append(where + ": the table's header must be 'threat | control | test "
                              "that proves it', found " + repr(cells))
            header_seen = True
            continue
        if set(line.replace("|", "").strip()) <= set("-: "):
            continue  # the separator row
        rows += 1
        if len(cells) != 3:
            errors.append("%s: %d cells, expected threat | control | test" % (where, len(cells)))
            continue
        threat, _, proof = cells
        if proof.lower().startswith("known gap"):
            if not threat.lower().startswith("known gap"):
                errors.append(where + ": a row without a test starts its threat with 'Known gap:'")
            continue
        references = 0
        for token in code_spans(proof):
            is_reference, error = classify(tree, token.strip(), True)
            if error:
                errors.append(where + ": " + error)
            elif is_reference:
                references += 1
        cited += references
        if references == 0:
            errors.append(where + ": no test named in the third cell (name one, or mark the row "
                          "'known gap'): " + threat[:80])
    if rows == 0:
        errors.append("the section '" + PROOF_SECTION + "' has no table rows")
    return rows, cited


def check_whole_page(tree, lines, errors):
    """Test references, files and alerts named anywhere else on the page must exist too."""
    checked = 0
    proof = False
    for i, line in enumerate(lines):
        if line.startswith("## "):
            proof = line.strip() == PROOF_SECTION
        if proof and line.startswith("|"):
            continue  # checked by check_proof_table
        for token in code_spans(line):
            is_reference, error = classify(tree, token.strip(), False)
            checked += is_reference
            if error:
                errors.append("line %d: %s" % (i + 1, error))
        # Unquoted paths of tests in prose ("a test in tests/common/authz/x_test.cc pins it").
        for path in re.findall(r"(?<![\w/`])(tests/[\w/\-]+\.(?:cc|sh|py|yml))", line):
            checked += 1
            if not os.path.isfile(os.path.join(tree.root, path)):
                errors.append("line %d: no such file: %s" % (i + 1, path))
    return checked


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    doc = argv[2] if len(argv) > 2 else os.path.join(root, "docs", "security.md")
    tree = Tree(root)
    if len(tree.gtests) < 100 or not tree.ctests:
        print("FAIL: found only %d gtests and %d ctests under %s/tests: wrong root?" %
              (len(tree.gtests), len(tree.ctests), root), file=sys.stderr)
        return 1
    with open(doc, encoding="utf-8") as f:
        lines = f.read().split("\n")
    errors = []
    rows, cited = check_proof_table(tree, lines, errors)
    checked = check_whole_page(tree, lines, errors)
    for error in errors:
        print("FAIL: %s: %s" % (os.path.relpath(doc, root), error), file=sys.stderr)
    if errors:
        return 1
    print("%s: %d proof rows, each naming tests that exist (%d references) or marked a known gap; "
          "%d more test references elsewhere on the page exist" %
          (os.path.relpath(doc, root), rows, cited, checked))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
