#!/usr/bin/python3
"""An independent gRPC client (Python grpcio, not Concord's C++ code) probing a running Concord.

Generates its stubs at run time with the system protoc from Debian's grpc-proto files and from
Concord's own .proto files, then checks over real mTLS what an outside user would see:
  health    grpc.health.v1 Check on the mTLS port (and on the plaintext health port) is SERVING
  reflect   reflection (v1alpha) lists the expected concord.* services
  badreq    an invalid RegisterAgency gets INVALID_ARGUMENT with google.rpc.BadRequest details
  noclient  a TLS client without a certificate cannot call (UNAVAILABLE)
  referrals the policy table, field-level errors, a draft, and a sealed record signed from
            docs/crypto.md alone (Python cryptography), accepted; tampered, refused
Exit code 0 when every requested check passes; prints one line per check.
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile

import grpc


def gen_stubs(repo, out):
    protos = [
        ("/usr/share/grpc-proto", "grpc/health/v1/health.proto"),
        ("/usr/share/grpc-proto", "grpc/reflection/v1alpha/reflection.proto"),
        (os.path.join(repo, "proto"), "concord/common/v1/common.proto"),
        (os.path.join(repo, "proto"), "concord/directory/v1/directory.proto"),
        (os.path.join(repo, "proto"), "concord/referrals/v1/referrals.proto"),
        (os.path.join(repo, "proto"), "google/rpc/status.proto"),
        (os.path.join(repo, "proto"), "google/rpc/error_details.proto"),
    ]
    for root, p in protos:
        subprocess.run(["protoc", "-I", root, "-I", "/usr/include", "--python_out", out,
                        "--grpc_out", out, "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                        os.path.join(root, p)], check=True)
    # Stub packages live under 'grpc/...': move them so they don't shadow the grpc module.
    os.rename(os.path.join(out, "grpc"), os.path.join(out, "grpcstubs"))
    for dirpath, _, files in os.walk(out):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                with open(path) as fh:
                    src = fh.read()
                src = src.replace("from grpc.health", "from grpcstubs.health").replace(
                    "from grpc.reflection", "from grpcstubs.reflection")
                with open(path, "w") as fh:
                    fh.write(src)
    # No __init__.py files: the generated dirs are namespace packages, so our google/rpc merges
    # with the system's google/protobuf instead of shadowing it.
    sys.path.insert(0, out)


def mtls_channel(args, with_cert=True):
    ca = open(args.ca, "rb").read()
    if with_cert:
        creds = grpc.ssl_channel_credentials(ca, open(args.key, "rb").read(),
                                             open(args.cert, "rb").read())
    else:
        creds = grpc.ssl_channel_credentials(ca)
    # Connect by IP and check the certificate's name separately: no resolver (DNS, /etc/hosts)
    # is involved, so the probe behaves the same on minimal machines and containers.
    return grpc.secure_channel(args.target, creds,
                               options=[("grpc.ssl_target_name_override", args.server_name)])


def check_health(args):
    health_pb2 = importlib.import_module("grpcstubs.health.v1.health_pb2")
    health_grpc = importlib.import_module("grpcstubs.health.v1.health_pb2_grpc")
    stub = health_grpc.HealthStub(mtls_channel(args))
    resp = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING, resp
    if args.health_target:
        plain = health_grpc.HealthStub(grpc.insecure_channel(args.health_target))
        resp = plain.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING, resp
    return "SERVING"


def check_reflect(args):
    refl_pb2 = importlib.import_module("grpcstubs.reflection.v1alpha.reflection_pb2")
    refl_grpc = importlib.import_module("grpcstubs.reflection.v1alpha.reflection_pb2_grpc")
    stub = refl_grpc.ServerReflectionStub(mtls_channel(args))
    reqs = iter([refl_pb2.ServerReflectionRequest(list_services="")])
    names = []
    for resp in stub.ServerReflectionInfo(reqs, timeout=5):
        names = [s.name for s in resp.list_services_response.service]
    missing = [s for s in args.expect_service if s not in names]
    assert not missing, f"missing {missing} in {names}"
    return ",".join(sorted(n for n in names if n.startswith("concord.")))


def rich_fields(e):
    """The field names of the google.rpc.BadRequest in an error's status details."""
    status_pb2 = importlib.import_module("google.rpc.status_pb2")
    details_pb2 = importlib.import_module("google.rpc.error_details_pb2")
    raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert raw, "no grpc-status-details-bin trailer"
    fields = []
    for any_msg in status_pb2.Status.FromString(raw).details:
        if any_msg.Is(details_pb2.BadRequest.DESCRIPTOR):
            br = details_pb2.BadRequest()
            any_msg.Unpack(br)
            fields += [v.field for v in br.field_violations]
    return fields


def check_badreq(args):
    dir_pb2 = importlib.import_module("concord.directory.v1.directory_pb2")
    dir_grpc = importlib.import_module("concord.directory.v1.directory_pb2_grpc")
    stub = dir_grpc.DirectoryStub(mtls_channel(args))
    try:
        stub.RegisterAgency(dir_pb2.RegisterAgencyRequest(), timeout=5)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        fields = rich_fields(e)
        assert fields, "no BadRequest field violations"
        return "INVALID_ARGUMENT fields=" + ",".join(fields)
    raise AssertionError("invalid RegisterAgency was accepted")


def signed_record_bytes(case_id, version, author_spiffe, box):
    """docs/crypto.md "Signed sealed boxes of referrals", written from the doc alone: string =
    tag || uint32 BE length || bytes; int = tag || int64 BE two's complement."""
    def s(tag, b):
        return bytes([tag]) + len(b).to_bytes(4, "big") + b

    def i(tag, v):
        return bytes([tag]) + v.to_bytes(8, "big", signed=True)

    out = (s(0, b"concord.referrals.sealed_record.v1") + s(1, case_id.encode()) + i(2, version) +
           s(3, author_spiffe.encode()) + s(4, box.nonce) + s(5, box.ciphertext) +
           i(6, len(box.keys)))
    for k in box.keys:
        out += (s(7, k.recipient.encode()) + s(8, k.ephemeral_public) + s(9, k.nonce) +
                s(10, k.ciphertext))
    return out


def check_referrals(args):
    """Referrals as an outside client sees them: --cert (an admin) is refused by the policy
    table; --alt-cert (a police unit) gets field-level errors for a malformed draft, saves a
    valid one (a pseudonymous DETECTED case), then adds a sealed record signed in Python from
    docs/crypto.md alone with DIR/sign.key next to --alt-cert: accepted, and refused with
    BAD_SIGNATURE when one byte of the box changes after signing."""
    pb = importlib.import_module("concord.referrals.v1.referrals_pb2")
    rg = importlib.import_module("concord.referrals.v1.referrals_pb2_grpc")
    try:
        rg.ReferralsStub(mtls_channel(args)).List(pb.ListRequest(), timeout=5)
        raise AssertionError("an admin listed referral cases")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED, e.code()
        assert "referrals.party" in e.details(), e.details()
    police = argparse.Namespace(**vars(args))
    police.cert, police.key = args.alt_cert, args.alt_key
    stub = rg.ReferralsStub(mtls_channel(police))
    bad = pb.SaveDraftRequest(attributes=pb.CaseAttributes(origin_country="Venezuela",
                                                           languages=["Spanish"]))
    try:
        stub.SaveDraft(bad, timeout=5)
        raise AssertionError("a malformed draft was accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        fields = rich_fields(e)
        for f in ("attributes.origin_country", "attributes.languages[0]"):
            assert f in fields, f"{f} not in {fields}"
    good = pb.SaveDraftRequest(attributes=pb.CaseAttributes(
        exploitation_forms=[pb.EXPLOITATION_FORM_FORCED_LABOUR], origin_country="VE",
        languages=["es"]))
    resp = stub.SaveDraft(good, timeout=5)
    assert resp.case.state == pb.CASE_STATE_DETECTED, resp.case.state
    assert resp.case.case_id.startswith("ref-") and resp.case.subject_ref.startswith("subj-")
    assert resp.problems, "an incomplete draft lists what Submit would refuse"

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    cert = x509.load_pem_x509_certificate(open(args.alt_cert, "rb").read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    author = san.get_values_for_type(x509.UniformResourceIdentifier)[0]
    sign_key = serialization.load_pem_private_key(
        open(os.path.join(os.path.dirname(args.alt_cert), "sign.key"), "rb").read(), password=None)
    box = pb.SealedRecord(nonce=os.urandom(12), ciphertext=os.urandom(64), keys=[pb.WrappedKey(
        recipient="reception_centre/pag-asa", ephemeral_public=os.urandom(32),
        nonce=os.urandom(12), ciphertext=os.urandom(48))])
    version = resp.case.sealed_record_version + 1
    box.version = version
    box.signature = sign_key.sign(signed_record_bytes(resp.case.case_id, version, author, box))
    update = pb.SaveDraftRequest(case_id=resp.case.case_id, expected_version=resp.case.version,
                                 attributes=good.attributes)
    tampered = pb.SealedRecord()
    tampered.CopyFrom(box)
    tampered.ciphertext = bytes([box.ciphertext[0] ^ 1]) + box.ciphertext[1:]
    update.sealed_record.CopyFrom(tampered)
    try:
        stub.SaveDraft(update, timeout=5)
        raise AssertionError("a record whose signature does not verify was stored")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        assert rich_fields(e) == ["sealed_record.signature"], rich_fields(e)
    update.sealed_record.CopyFrom(box)
    saved = stub.SaveDraft(update, timeout=5)
    assert saved.case.sealed_record_version == version, saved.case.sealed_record_version
    return (f"admin PERMISSION_DENIED; bad draft INVALID_ARGUMENT fields={','.join(fields)}; "
            f"draft {resp.case.case_id} DETECTED, {len(resp.problems)} problems left; record "
            f"signed from docs/crypto.md accepted as version {version}, tampered one refused")


def check_noclient(args):
    health_pb2 = importlib.import_module("grpcstubs.health.v1.health_pb2")
    health_grpc = importlib.import_module("grpcstubs.health.v1.health_pb2_grpc")
    stub = health_grpc.HealthStub(mtls_channel(args, with_cert=False))
    try:
        stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAVAILABLE, e.code()
        return "refused (UNAVAILABLE)"
    raise AssertionError("call without client certificate succeeded")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--health-target")
    ap.add_argument("--server-name", default="localhost",
                    help="name the server certificate must carry (default: localhost)")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--expect-service", action="append", default=[])
    ap.add_argument("--alt-cert", help="a second identity (referrals: a police unit)")
    ap.add_argument("--alt-key")
    ap.add_argument("checks", nargs="+",
                    choices=["health", "reflect", "badreq", "noclient", "referrals"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        gen_stubs(args.repo, out)
        failed = 0
        for name in args.checks:
            try:
                print(f"probe {name}: ok {globals()['check_' + name](args)}")
            except Exception as e:  # report every check, fail at the end
                print(f"probe {name}: FAILED {type(e).__name__}: {e}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
