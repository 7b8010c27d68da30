#!/usr/bin/python3
"""Checks a Grafana Classic dashboard JSON offline.

  dashboard_check.py <dashboard.json> <out-rules.yml>

Structure: a `datasource` template variable of type datasource/prometheus; every panel and target
uses {"type": "prometheus", "uid": "${datasource}"}; unique panel ids; every target has an expr.
PromQL: every panel expr is written into a Prometheus rules file (Grafana macros replaced:
$__rate_interval/$__interval/$__range -> 5m, any other $var / ${var} -> .*) that the caller
passes to `promtool check rules`, which parses each expression.
Required content (REQUIRED, by dashboard uid): for each row title, regular expressions that some
panel expr under that row must match (panels belong to the row that precedes them). Gauges that
every replica reads from Redis (deployment-wide values) must not be summed over instances.
Layout: panels must not overlap on the 24-column grid.
Exit 1 with one line per problem.
"""
import json
import re
import sys

MACROS = re.compile(r"\$(?:\{(__rate_interval|__interval|__range)\}|(__rate_interval|__interval|__range)\b)")
VARS = re.compile(r"\$(?:\{\w+(?::\w+)?\}|\w+)")

REQUIRED = {
    "concord-overview": {
        "Overview": [r"\bup\{", r"grpc_server_handled_total", r"concord_build_info"],
        "Referrals": [
            r"max by \(state\) \(concord_referrals\{",                              # cases by state
            r"concord_referral_deadlines_overdue\{",                                 # overdue deadlines
            r"concord_referral_notifications_total\{[^}]*outcome=\"sent\"",          # sent
            r"concord_referral_notifications_total\{[^}]*outcome=\"dropped\"",       # dropped
            r"concord_referral_notifications_pending\{",                             # pending
            r"rate\(concord_referral_transitions_total\{",                           # transitions rate
        ],
        "Messaging": [
            r"rate\(concord_messages_sent_total\{",                                  # sends/s
            r"histogram_quantile\(0\.99, sum by \([^)]*\ble\b[^)]*\) \(rate\(concord_message_delivery_seconds_bucket\{",
            r"concord_message_send_stage_seconds_bucket\{",                        # Send by stage
            r"concord_inbox_backlog\{",                                              # backlog
            r"rate\(concord_redeliveries_total\{",                                   # redeliveries
        ],
        "Guidelines": [
            r"max by \(guideline\) \(concord_guideline_ack_ratio\{",                  # ack ratio
            r"concord_guideline_acknowledgements_overdue\{",                         # overdue
            r"rate\(concord_guideline_deliveries_total\{",                           # deliveries
            r"concord_guideline_delivery_seconds_bucket\{",                          # latency
            r"concord_guideline_verification_failures_total\{",                      # tampering
        ],
        "Liaison": [
            r"max by \(type, state\) \(concord_liaison_requests\{",                 # by type/state
            r"max by \(type\) \(concord_liaison_deadlines_overdue\{",                # overdue
            r"concord_liaison_deadlines_due_24h\{",                                  # due soon
            r"concord_liaison_jit_streams\{",                                        # JIT streams
        ],
        "Federation": [
            r"concord_federation_partner_export_age_seconds\{",                      # export age
            r"rate\(concord_federation_crossings_total\{",                           # crossings
            r"rate\(concord_federation_liaison_crossings_total\{",                   # liaison descriptors
            r"concord_federation_partner_key_changes_total\{",                      # key changes
        ],
    },
}
# Deployment-wide gauges (every replica exports the same value read from Redis).
SHARED_GAUGES = ("concord_referrals", "concord_referral_deadlines_overdue",
                 "concord_referral_notifications_pending", "concord_inbox_backlog",
                 "concord_guideline_ack_ratio", "concord_guideline_acknowledgements_overdue",
                 "concord_liaison_requests", "concord_liaison_deadlines_overdue",
                 "concord_liaison_deadlines_due_24h", "concord_liaison_notifications_pending")
SUMMED_SHARED = re.compile(r"\bsum\b(?:\s*(?:by|without)\s*\([^)]*\))?\s*\(\s*(" +
                           "|".join(SHARED_GAUGES) + r")\{")


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
    by_row = {}
    row = None
    for p in d.get("panels", []):  # rows are not collapsed: the panels follow their row
        if p.get("type") == "row":
            row = p.get("title")
            by_row.setdefault(row, [])
            for q in p.get("panels", []):  # a collapsed row keeps its panels inside
                by_row[row] += [t.get("expr", "") for t in q.get("targets", [])]
            continue
        by_row.setdefault(row, []).extend(t.get("expr", "") for t in p.get("targets", []))
    for row_title, patterns in REQUIRED.get(d.get("uid"), {}).items():
        if row_title not in by_row:
            problems.append(f"row {row_title!r} missing")
            continue
        for pat in patterns:
            if not any(re.search(pat, e) for e in by_row[row_title]):
                problems.append(f"row {row_title!r}: no panel query matches /{pat}/")

    cells = {}
    for p in d.get("panels", []):
        g = p.get("gridPos", {})
        if not all(k in g for k in "xywh"):
            problems.append(f"panel {p.get('title')!r}: incomplete gridPos")
            continue
        if g["x"] + g["w"] > 24:
            problems.append(f"panel {p.get('title')!r}: wider than the 24-column grid")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    problems.append(f"panels {cells[(x, y)]!r} and {p.get('title')!r} overlap")
                    break
                cells[(x, y)] = p.get("title")
            else:
                continue
            break

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
            if SUMMED_SHARED.search(expr):
                problems.append(f"panel {title!r} target {t.get('refId')}: sums a deployment-wide gauge over replicas (use max)")
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
