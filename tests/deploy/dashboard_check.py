#!/usr/bin/python3
"""Checks a Grafana Classic dashboard JSON offline.

  dashboard_check.py <dashboard.json> <out-rules.yml>

Structure: a `datasource` template variable of type datasource/prometheus; every panel and target
uses {"type": "prometheus", "uid": "${datasource}"}; unique panel ids; every target has an expr.
PromQL: every panel expr is written into a Prometheus rules file (Grafana macros replaced:
$__rate_interval/$__interval/$__range -> 5m, any other $var / ${var} -> .*) that the caller
passes to `promtool check rules`, which parses each expression.
Exit 1 with one line per problem.
"""
import json
import re
import sys

MACROS = re.compile(r"\$(?:\{(__rate_interval|__interval|__range)\}|(__rate_interval|__interval|__range)\b)")
VARS = re.compile(r"\$(?:\{\w+(?::\w+)?\}|\w+)")


def main(path, out):
    d = json.load(open(path, encoding="utf-8"))
    problems = []
    if not d.get("uid"):
        problems.append("dashboard has no uid")
    for key in ("title", "panels", "templating", "schemaVersion"):
        if key not in d:
            problems.append(f"dashboard has no {key}")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append('missing template variable {"name": "datasource", "type": "datasource", "query": "prometheus"}')
    want = {"type": "prometheus", "uid": "${datasource}"}
    for name, v in variables.items():
        if v.get("type") == "query" and v.get("datasource") != want:
            problems.append(f"variable {name}: datasource must be {want}")

    panels = []
    def walk(ps):
        for p in ps:
            panels.append(p)
            walk(p.get("panels", []))
    walk(d.get("panels", []))
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    exprs = []
    for p in panels:
        if p.get("type") == "row":
            continue
        title = p.get("title", "?")
        if p.get("datasource") != want:
            problems.append(f"panel {title!r}: datasource must be {want}")
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"panel {title!r}: no targets")
        for t in targets:
            if t.get("datasource") not in (None, want):
                problems.append(f"panel {title!r} target {t.get('refId')}: datasource must be {want}")
            expr = t.get("expr", "")
            if not expr.strip():
                problems.append(f"panel {title!r} target {t.get('refId')}: empty expr")
                continue
            e = MACROS.sub("5m", expr)
            e = VARS.sub(".*", e)
            exprs.append((f"{title} / {t.get('refId')}", e))

    with open(out, "w", encoding="utf-8") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (where, e) in enumerate(exprs):
            f.write(f"      # {where}\n      - record: dashboard:expr_{i}\n        expr: {json.dumps(e)}\n")
    for p in problems:
        print(f"FAIL {p}")
    print(f"{len(panels)} panels, {len(exprs)} expressions written to {out}; {len(problems)} structural problems")
    return 1 if problems or not exprs else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
