#!/usr/bin/env python3
"""The assertions of the TLS audit (docs/reliability.md "TLS audit") over testssl's flat JSON
output (--jsonfile): one finding per protocol ("SSLv2" ... "TLS1_3") and one per cipher suite a
protocol accepts ("cipher-tls1_2_xc02f", from --cipher-per-proto).

Passes iff
  - no protocol below TLS 1.2 is offered (SSLv2, SSLv3, TLS 1.0, TLS 1.1),
  - TLS 1.3 is offered,
  - every suite offered is an AEAD suite (AES-GCM, ChaCha20-Poly1305, AES-CCM) with forward
    secrecy (ECDHE or DHE key exchange; every TLS 1.3 suite is, by the protocol),
  - testssl reported at least one suite (a run that saw nothing proves nothing).

Usage: tls_audit_check.py TESTSSL.json   exit 0 = passes; 1 = a violation (each printed);
                                          2 = unusable input.
"""
import json
import re
import sys

WEAK_PROTOCOLS = {"SSLv2": "SSL 2.0", "SSLv3": "SSL 3.0", "TLS1": "TLS 1.0", "TLS1_1": "TLS 1.1"}
AEAD = re.compile(r"(GCM|CHACHA20[_-]POLY1305|CCM)")
FORWARD_SECRET = re.compile(r"^TLS_(ECDHE|DHE)_")


def offered(finding):
    f = finding.lower()
    return f.startswith("offered") or f.startswith("supported")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            findings = json.load(f)
    except (OSError, ValueError) as e:
        print(f"tls_audit_check: cannot read {sys.argv[1]}: {e}", file=sys.stderr)
        return 2
    by_id = {}
    suites = []
    for item in findings:
        fid, finding = item.get("id", ""), item.get("finding", "")
        by_id[fid] = finding
        if fid.startswith("cipher-tls") or fid.startswith("cipher-ssl"):
            suites.append((fid, finding))
    violations = []
    for fid, name in WEAK_PROTOCOLS.items():
        if fid not in by_id:
            violations.append(f"protocol {name}: testssl reported nothing ({fid} missing)")
        elif offered(by_id[fid]):
            violations.append(f"protocol {name} offered ({fid}: {by_id[fid]})")
    if "TLS1_3" not in by_id or not offered(by_id["TLS1_3"]):
        violations.append(f"TLS 1.3 not offered (TLS1_3: {by_id.get('TLS1_3', 'missing')})")
    if not suites:
        violations.append("no cipher suite reported (cipher-per-proto did not run?)")
    for fid, finding in suites:
        # "TLSv1.2   xc02f   ECDHE-RSA-AES128-GCM-SHA256   ECDH 253   AESGCM   128
        #  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": the last field is the IANA name.
        iana = finding.split()[-1] if finding.split() else ""
        tls13 = fid.startswith("cipher-tls1_3")
        if not tls13 and not fid.startswith("cipher-tls1_2"):
            violations.append(f"suite of a protocol below TLS 1.2: {fid}: {finding}")
            continue
        if not AEAD.search(iana):
            violations.append(f"not an AEAD suite: {iana} ({fid})")
        if not tls13 and not FORWARD_SECRET.search(iana):
            violations.append(f"no forward secrecy: {iana} ({fid})")
    for v in violations:
        print(f"VIOLATION: {v}")
    names = sorted({s[1].split()[-1] for s in suites if s[1].split()})
    print(f"tls_audit_check: {len(suites)} suites checked ({', '.join(names)}); "
          f"{len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
