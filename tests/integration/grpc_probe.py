#!/usr/bin/python3
"""An independent gRPC client (Python grpcio, not Concord's C++ code) probing a running Concord.

Generates its stubs at run time with the system protoc from Debian's grpc-proto files and from
Concord's own .proto files, then checks over real mTLS what an outside user would see:
  health    grpc.health.v1 Check on the mTLS port (and on the plaintext health port) is SERVING
  reflect   reflection (v1alpha) lists the expected concord.* services
  badreq    a RegisterAgency without officer/justification metadata, then an invalid one, get
            INVALID_ARGUMENT with google.rpc.BadRequest details naming what is missing / wrong
  noclient  a TLS client without a certificate cannot call (UNAVAILABLE)
  referrals the policy table, field-level errors, a draft, and a sealed record signed from
            docs/crypto.md alone (Python cryptography), accepted; tampered, refused
  messaging envelope v2 written from the documentation only (the envelope-spec block of
            docs/crypto.md, services/messaging/README.md and the proto comments, nothing of
            Concord's C++): as --agency-dir it seals (with key commitments), uploads an
            attachment, signs and sends a v2 message to --alt-agency-dir, whose side fetches it,
            recomputes the canonical bytes from the received proto, verifies the signature
            against the directory key, unwraps, checks the commitments, opens the sealed content
            and the attachment, and signs a receipt naming the envelope hash it computed; a v1
            envelope is refused with the ErrorInfo reason read from grpc-status-details-bin;
            --verify-message ID (sent by concordctl) is verified and opened the same way
  guidelines --guideline-id ID, as --cert: the version fetched through server reflection alone
            (no compiled Concord proto), its SHA-256 recomputed from docs/crypto.md "Guideline
            versions" and the publisher's signature verified with the directory key
Exit code 0 when every requested check passes; prints one line per check.
"""
import argparse
import hashlib
import importlib
import os
import secrets
import struct
import subprocess
import sys
import tempfile
import time

import grpc


def gen_stubs(repo, out):
    protos = [
        ("/usr/share/grpc-proto", "grpc/health/v1/health.proto"),
        ("/usr/share/grpc-proto", "grpc/reflection/v1alpha/reflection.proto"),
        (os.path.join(repo, "proto"), "concord/common/v1/limits.proto"),
        (os.path.join(repo, "proto"), "concord/common/v1/common.proto"),
        (os.path.join(repo, "proto"), "concord/directory/v1/directory.proto"),
        (os.path.join(repo, "proto"), "concord/referrals/v1/referrals.proto"),
        (os.path.join(repo, "proto"), "concord/messaging/v1/messaging.proto"),
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


def error_reason(e):
    """The google.rpc.ErrorInfo reason in an error's grpc-status-details-bin trailer."""
    status_pb2 = importlib.import_module("google.rpc.status_pb2")
    details_pb2 = importlib.import_module("google.rpc.error_details_pb2")
    raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert raw, "no grpc-status-details-bin trailer"
    for any_msg in status_pb2.Status.FromString(raw).details:
        if any_msg.Is(details_pb2.ErrorInfo.DESCRIPTOR):
            info = details_pb2.ErrorInfo()
            any_msg.Unpack(info)
            return info.reason
    return ""


def check_badreq(args):
    dir_pb2 = importlib.import_module("concord.directory.v1.directory_pb2")
    dir_grpc = importlib.import_module("concord.directory.v1.directory_pb2_grpc")
    stub = dir_grpc.DirectoryStub(mtls_channel(args))
    # A directory change without officer and justification is refused, naming the metadata.
    try:
        stub.RegisterAgency(dir_pb2.RegisterAgencyRequest(), timeout=5)
        raise AssertionError("a directory change without justification was accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        missing = rich_fields(e)
        assert missing == ["concord-officer", "concord-justification"], missing
    metadata = (("concord-officer", "probe"), ("concord-justification", "probe: bad request"))
    try:
        stub.RegisterAgency(dir_pb2.RegisterAgencyRequest(), timeout=5, metadata=metadata)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        fields = rich_fields(e)
        assert fields, "no BadRequest field violations"
        return "INVALID_ARGUMENT missing=" + ",".join(missing) + " fields=" + ",".join(fields)
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
    # Languages are personal data (sealed record only): refused as a clear attribute.
    bad = pb.SaveDraftRequest(attributes=pb.CaseAttributes(origin_country="Venezuela",
                                                           languages=["es"]))
    try:
        stub.SaveDraft(bad, timeout=5)
        raise AssertionError("a malformed draft was accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        fields = rich_fields(e)
        for f in ("attributes.origin_country", "attributes.languages"):
            assert f in fields, f"{f} not in {fields}"
    good = pb.SaveDraftRequest(attributes=pb.CaseAttributes(
        exploitation_forms=[pb.EXPLOITATION_FORM_FORCED_LABOUR], origin_country="VE",
        nationality_class=pb.NATIONALITY_CLASS_THIRD_COUNTRY, region="BE-WHT"))
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


# ---- envelope v2, from the documentation (docs/crypto.md "Messaging envelope") ----------------

def f_str(tag, value):
    """1. string field: tag (1 byte) || length (uint32 big-endian) || the bytes."""
    if isinstance(value, str):
        value = value.encode()
    return bytes([tag]) + struct.pack(">I", len(value)) + value


def f_int(tag, value):
    """1. int field: tag || int64 big-endian two's complement (unsigned values as the same)."""
    return bytes([tag]) + struct.pack(">q", value)


def f_list(tag, values):
    """1. string list: tag || count (uint32) || count x (length (uint32) || bytes)."""
    out = bytes([tag]) + struct.pack(">I", len(values))
    for v in values:
        v = v.encode() if isinstance(v, str) else v
        out += struct.pack(">I", len(v)) + v
    return out


def agency_type_name(number):
    common = importlib.import_module("concord.common.v1.common_pb2")
    return common.AgencyType.Name(number)[len("AGENCY_TYPE_"):].lower()


def spiffe(agency):
    """1. an agency is spiffe://<trust_domain>/agency/<type>/<id>; the trust domain is required."""
    assert agency.trust_domain, "AgencyId.trust_domain is required in an envelope"
    return f"spiffe://{agency.trust_domain}/agency/{agency_type_name(agency.type)}/{agency.id}"


def label(agency):
    """3. the wrapped key's recipient: "<type>/<id>"."""
    return f"{agency_type_name(agency.type)}/{agency.id}"


def nanos(ts):
    """1. times: nanoseconds since the Unix epoch (seconds * 1000000000 + nanos)."""
    return ts.seconds * 1_000_000_000 + ts.nanos


def permission_bytes_v2(p):
    """4. ForwardPermission v2."""
    return (f_str(0, "concord.messaging.forward_permission.v2") + f_str(1, p.original_message_id)
            + f_str(2, spiffe(p.provider)) + f_list(3, [spiffe(g) for g in p.grantees])
            + f_int(4, nanos(p.granted_at)))


def envelope_bytes_v2(e):
    """2. what the sender signs, in this order, every field written."""
    assert e.version == 2
    b = (f_str(0, "concord.messaging.envelope.v2") + f_str(1, e.message_id) + f_str(2, spiffe(e.sender))
         + f_list(3, [spiffe(r) for r in e.recipients]) + f_str(4, e.thread_id)
         + f_str(5, e.case_reference) + f_int(6, e.kind) + f_int(7, e.classification)
         + f_int(8, e.handling_code))
    has_eval = e.HasField("evaluation")
    b += f_int(10, e.evaluation.source if has_eval else 0)
    b += f_int(11, e.evaluation.information if has_eval else 0)
    b += f_int(12, nanos(e.created_at)) + f_int(13, nanos(e.expires_at))
    b += f_str(14, e.body.nonce) + f_str(15, e.body.ciphertext) + f_int(16, len(e.body.keys))
    for k in e.body.keys:
        b += f_str(17, k.recipient) + f_str(18, k.ephemeral_public) + f_str(19, k.nonce)
        b += f_str(20, k.ciphertext)
    b += f_str(38, e.body_key_commitment)
    b += f_int(21, len(e.attachments))
    for a in e.attachments:
        b += f_str(22, a.attachment_id) + f_int(25, a.size) + f_int(27, len(a.chunks))
        for c in a.chunks:
            b += f_int(28, c.index) + f_int(29, c.size) + f_str(30, c.sha256)
            b += f_str(39, c.key_commitment)
    b += f_str(31, e.in_reply_to) + f_int(32, 1 if e.HasField("forward") else 0)
    if e.HasField("forward"):
        fw = e.forward
        b += f_str(33, fw.original_message_id) + f_str(34, spiffe(fw.original_sender))
        b += f_str(40, fw.root_message_id) + f_str(41, spiffe(fw.root_sender))
        b += f_int(35, 1 if fw.HasField("permission") else 0)
        if fw.HasField("permission"):
            b += f_str(36, permission_bytes_v2(fw.permission)) + f_str(37, fw.permission.signature)
    return b


def envelope_hash(e):
    """2. SHA-256 of the signed bytes followed by the string field 63 holding the signature."""
    return hashlib.sha256(envelope_bytes_v2(e) + f_str(63, e.signature)).digest()


def chunk_bytes(attachment_id, chunk):
    """3. a chunk as uploaded and stored."""
    b = (f_str(0, "concord.messaging.chunk.v1") + f_str(1, attachment_id) + f_int(2, chunk.index)
         + f_str(3, chunk.sealed.nonce) + f_str(4, chunk.sealed.ciphertext)
         + f_int(5, len(chunk.sealed.keys)))
    for k in chunk.sealed.keys:
        b += f_str(6, k.recipient) + f_str(7, k.ephemeral_public) + f_str(8, k.nonce)
        b += f_str(9, k.ciphertext)
    return b


def commitment(key):
    """3. key commitment: SHA-256("concord-seal-key-commitment-v1|" || K)."""
    return hashlib.sha256(b"concord-seal-key-commitment-v1|" + key).digest()


def raw_public(key):
    from cryptography.hazmat.primitives import serialization
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kek(shared, ephemeral_public, recipient_public, recipient_label):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public,
                info=b"concord-seal-v1|" + recipient_label.encode()).derive(shared)


def seal(box, plaintext, aad, recipients):
    """3. fills `box` (a SealedBox proto) sealed to [(label, X25519 public key)]; returns the
    commitment to its content key."""
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    k = secrets.token_bytes(32)
    box.nonce = secrets.token_bytes(12)
    box.ciphertext = AESGCM(k).encrypt(box.nonce, plaintext, aad)
    for name, public in recipients:
        e = x25519.X25519PrivateKey.generate()
        E, P = raw_public(e.public_key()), raw_public(public)
        n = secrets.token_bytes(12)
        wrapped = box.keys.add()
        wrapped.recipient = name
        wrapped.ephemeral_public = E
        wrapped.nonce = n
        wrapped.ciphertext = AESGCM(kek(e.exchange(public), E, P, name)).encrypt(n, k, name.encode())
    return commitment(k)


def open_committed(box, me_label, private, aad, signed_commitment):
    """3. unwrap K, refuse it unless it matches the signed commitment, then decrypt."""
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    mine = [k for k in box.keys if k.recipient == me_label]
    assert len(mine) == 1, f"no single wrapped key for {me_label}"
    w = mine[0]
    E = w.ephemeral_public
    shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(E))
    k = AESGCM(kek(shared, E, raw_public(private.public_key()), me_label)).decrypt(
        w.nonce, w.ciphertext, me_label.encode())
    assert commitment(k) == signed_commitment, "KEY_COMMITMENT_MISMATCH"
    return AESGCM(k).decrypt(box.nonce, box.ciphertext, aad)


def content_bytes(text, handling_text, attachments):
    """3. the sealed content: [(attachment_id, name, media_type, sha256)]."""
    b = (f_str(0, "concord.messaging.content.v2") + f_str(1, text) + f_str(2, handling_text)
         + f_int(3, len(attachments)))
    for att_id, name, media_type, digest in attachments:
        b += f_str(4, att_id) + f_str(5, name) + f_str(6, media_type) + f_str(7, digest)
    return b


def parse_content(data):
    """The inverse of content_bytes, strict."""
    pos = 0

    def take(tag, kind):
        nonlocal pos
        assert data[pos] == tag, f"sealed content: tag {data[pos]} where {tag} was expected"
        pos += 1
        if kind == "int":
            value = struct.unpack(">q", data[pos:pos + 8])[0]
            pos += 8
            return value
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        pos += 4
        value = data[pos:pos + n]
        assert len(value) == n, "sealed content: truncated"
        pos += n
        return value

    assert take(0, "str") == b"concord.messaging.content.v2"
    text, handling = take(1, "str"), take(2, "str")
    atts = [(take(4, "str").decode(), take(5, "str").decode(), take(6, "str").decode(),
             take(7, "str")) for _ in range(take(3, "int"))]
    assert pos == len(data), "sealed content: trailing bytes"
    return text, handling, atts


class ProbeIdentity:
    """An agency's directory as pki.sh lays it out: cert.pem key.pem sign.key seal.key."""

    def __init__(self, directory, args):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        common = importlib.import_module("concord.common.v1.common_pb2")
        self.args = argparse.Namespace(**vars(args))
        self.args.cert = os.path.join(directory, "cert.pem")
        self.args.key = os.path.join(directory, "key.pem")
        cert = x509.load_pem_x509_certificate(open(self.args.cert, "rb").read())
        uri = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
            .get_values_for_type(x509.UniformResourceIdentifier)[0]
        td, rest = uri[len("spiffe://"):].split("/", 1)
        _, type_name, local = rest.split("/")
        self.agency = common.AgencyId(trust_domain=td, id=local,
                                      type=common.AgencyType.Value("AGENCY_TYPE_" + type_name.upper()))
        self.sign = serialization.load_pem_private_key(
            open(os.path.join(directory, "sign.key"), "rb").read(), password=None)
        self.seal = serialization.load_pem_private_key(
            open(os.path.join(directory, "seal.key"), "rb").read(), password=None)
        channel = mtls_channel(self.args)
        self.messaging = importlib.import_module(
            "concord.messaging.v1.messaging_pb2_grpc").MessagingStub(channel)
        self.directory = importlib.import_module(
            "concord.directory.v1.directory_pb2_grpc").DirectoryStub(channel)

    def keys_of(self, agency):
        """(Ed25519 signing key, X25519 sealing key) of `agency` from the directory."""
        from cryptography.hazmat.primitives import serialization
        dpb = importlib.import_module("concord.directory.v1.directory_pb2")
        rec = self.directory.GetAgency(dpb.GetAgencyRequest(id=agency), timeout=5).agency
        return (serialization.load_pem_public_key(rec.signing_public_key_pem.encode()),
                serialization.load_pem_public_key(rec.sealing_public_key_pem.encode()))


def set_time(ts, seconds_float):
    ns = int(seconds_float * 1_000_000_000)
    ts.seconds, ts.nanos = ns // 1_000_000_000, ns % 1_000_000_000


def read_v2(me, message_id):
    """As a recipient: Get, verify against the sender's directory key over bytes recomputed from
    the received proto, open with the committed key, check the content and every attachment."""
    pb = importlib.import_module("concord.messaging.v1.messaging_pb2")
    env = me.messaging.Get(pb.GetRequest(message_id=message_id), timeout=10).entry.envelope
    assert env.version == 2, f"version {env.version}"
    signing, _ = me.keys_of(env.sender)
    signing.verify(env.signature, envelope_bytes_v2(env))  # raises InvalidSignature
    text, handling, atts = parse_content(open_committed(
        env.body, label(me.agency), me.seal,
        ("concord.messaging.body.v2|" + env.message_id).encode(), env.body_key_commitment))
    assert [a[0] for a in atts] == [a.attachment_id for a in env.attachments]
    files = {}
    for (att_id, name, media_type, digest), ref in zip(atts, env.attachments):
        assert not ref.name and not ref.media_type and not ref.sha256, "v2 attachment in clear"
        chunks = list(me.messaging.DownloadAttachment(
            pb.DownloadAttachmentRequest(message_id=env.message_id, attachment_id=att_id),
            timeout=10))
        data = b""
        for chunk, cref in zip(chunks, ref.chunks):
            assert len(chunks) == len(ref.chunks) and chunk.index == cref.index
            assert hashlib.sha256(chunk_bytes(att_id, chunk)).digest() == cref.sha256
            data += open_committed(chunk.sealed, label(me.agency), me.seal,
                                   f"concord.messaging.chunk.v1|{att_id}|{chunk.index}".encode(),
                                   cref.key_commitment)
        assert len(data) == ref.size and hashlib.sha256(data).digest() == digest
        files[name] = (media_type, data)
    return env, text, handling, files


def check_messaging(args):
    pb = importlib.import_module("concord.messaging.v1.messaging_pb2")
    sender = ProbeIdentity(args.agency_dir, args)
    recipient = ProbeIdentity(args.alt_agency_dir, args)
    _, recipient_seal = sender.keys_of(recipient.agency)
    targets = [(label(recipient.agency), recipient_seal)]

    # An attachment: sealed chunk by chunk (one here: a file under 1 MiB is one chunk carrying
    # all of it, docs/crypto.md section 7), uploaded with its declared size, referenced with its
    # commitment.
    att_id = secrets.token_hex(16)
    file_data = b"probe attachment written from docs/crypto.md\n" * 20
    chunk = pb.AttachmentChunk(index=0)
    chunk_commitment = seal(chunk.sealed, file_data,
                            f"concord.messaging.chunk.v1|{att_id}|0".encode(), targets)
    stored_chunk = chunk_bytes(att_id, chunk)
    up = sender.messaging.UploadAttachment(iter([
        pb.UploadAttachmentRequest(header=pb.UploadAttachmentHeader(
            attachment_id=att_id, total_size=len(stored_chunk), size=len(file_data))),
        pb.UploadAttachmentRequest(chunk=chunk)]), timeout=10)
    assert up.chunks[0].sha256 == hashlib.sha256(stored_chunk).digest(), "chunk digest differs"

    e = pb.Envelope(version=2, message_id=secrets.token_hex(16), thread_id="probe-thread",
                    case_reference="PRB-2026-0001", kind=pb.MESSAGE_KIND_INFORMATION,
                    classification=pb.CLASSIFICATION_RESTRICTED, handling_code=pb.HANDLING_CODE_H3)
    e.sender.CopyFrom(sender.agency)
    e.recipients.add().CopyFrom(recipient.agency)
    now = time.time()
    set_time(e.created_at, now)
    set_time(e.expires_at, now + 3600)
    text = "written by the Python probe from the documentation"
    e.body_key_commitment = seal(e.body, content_bytes(
        text, "probe restriction text", [(att_id, "probe-report.txt", "text/plain",
                                          hashlib.sha256(file_data).digest())]),
        ("concord.messaging.body.v2|" + e.message_id).encode(), targets)
    a = e.attachments.add(attachment_id=att_id, size=len(file_data))
    a.chunks.add(index=0, size=len(stored_chunk), sha256=hashlib.sha256(stored_chunk).digest(),
                 key_commitment=chunk_commitment)
    e.signature = sender.sign.sign(envelope_bytes_v2(e))
    sent = sender.messaging.Send(pb.SendRequest(envelope=e), timeout=10)
    assert sent.envelope_sha256 == envelope_hash(e), "the server's envelope hash differs"
    assert not sent.duplicate

    # The recipient's side, from what the server returns.
    env, got_text, handling, files = read_v2(recipient, e.message_id)
    assert got_text.decode() == text and handling.decode() == "probe restriction text"
    assert files["probe-report.txt"] == ("text/plain", file_data)
    r = pb.Receipt(message_id=env.message_id, envelope_sha256=envelope_hash(env),
                   kind=pb.RECEIPT_KIND_READ)
    r.recipient.CopyFrom(recipient.agency)
    set_time(r.at, time.time())
    r.signature = recipient.sign.sign(
        f_str(0, "concord.messaging.receipt.v1") + f_str(1, r.message_id)
        + f_str(2, r.envelope_sha256) + f_str(3, spiffe(r.recipient)) + f_int(4, r.kind)
        + f_int(5, nanos(r.at)))
    recipient.messaging.SendReceipt(pb.SendReceiptRequest(receipt=r), timeout=10)

    # Envelope v1 is refused for new messages; the reason is in grpc-status-details-bin.
    old = pb.Envelope()
    old.CopyFrom(e)
    old.version = 1
    old.message_id = secrets.token_hex(16)
    try:
        sender.messaging.Send(pb.SendRequest(envelope=old), timeout=10)
        raise AssertionError("a v1 envelope was accepted")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.code()
        assert error_reason(err) == "ENVELOPE_VERSION_UNSUPPORTED", error_reason(err)
        assert "envelope.version" in rich_fields(err), rich_fields(err)

    verified = ""
    if args.verify_message:
        _, other_text, _, other_files = read_v2(recipient, args.verify_message)
        verified = (f"; verified and opened {args.verify_message} "
                    f"({len(other_text)} bytes, {len(other_files)} attachment(s))")
    return (f"sent {e.message_id} (v2, hash {sent.envelope_sha256.hex()[:16]}...), read back, "
            f"receipt accepted; v1 refused (ENVELOPE_VERSION_UNSUPPORTED){verified}")



# ---- guidelines, through reflection and from the documentation alone --------------------------
# (docs/crypto.md "Guideline versions", the guideline-spec block: the same text as
# docs/guidelines.md and the proto comments). Nothing of Concord's protos is compiled here: the
# message types come from the server's reflection service.

def reflected_pool(channel, symbol):
    """A descriptor pool holding the file that defines `symbol` and its dependencies, as the
    server's reflection (v1alpha) describes them."""
    from google.protobuf import descriptor_pb2, descriptor_pool
    refl_pb2 = importlib.import_module("grpcstubs.reflection.v1alpha.reflection_pb2")
    refl_grpc = importlib.import_module("grpcstubs.reflection.v1alpha.reflection_pb2_grpc")
    stub = refl_grpc.ServerReflectionStub(channel)
    files = {}
    for resp in stub.ServerReflectionInfo(
            iter([refl_pb2.ServerReflectionRequest(file_containing_symbol=symbol)]), timeout=5):
        for raw in resp.file_descriptor_response.file_descriptor_proto:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
            files[fdp.name] = fdp
    assert files, f"reflection does not describe {symbol}"
    pool = descriptor_pool.DescriptorPool()
    added = set()
    for _ in range(len(files) + 1):  # dependencies first; bounded
        for name, fdp in files.items():
            if name not in added and all(d in added for d in fdp.dependency):
                pool.Add(fdp)
                added.add(name)
    assert len(added) == len(files), f"unresolved dependencies: {set(files) - added}"
    return pool


def message_class(pool, full_name):
    from google.protobuf import message_factory
    return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName(full_name))


def reflected_call(channel, pool, method, request_type, response_type, request, **kw):
    req_cls = message_class(pool, request_type)
    resp_cls = message_class(pool, response_type)
    call = channel.unary_unary(method, request_serializer=req_cls.SerializeToString,
                               response_deserializer=resp_cls.FromString)
    return call(request(req_cls), timeout=5, **kw)


def guideline_version_bytes(v, pool):
    """Section 2: every field, in order; lists sorted by their bytes; contents by language."""
    agency_type = pool.FindEnumTypeByName("concord.common.v1.AgencyType")

    def type_name(number):
        return agency_type.values_by_number[number].name[len("AGENCY_TYPE_"):].lower()

    def agency(a):
        assert a.trust_domain, "AgencyId.trust_domain is required"
        return f"spiffe://{a.trust_domain}/agency/{type_name(a.type)}/{a.id}".encode()

    def utf8(values):
        return sorted(x.encode() for x in values)

    out = (f_str(0, "concord.guidelines.version.v1") + f_str(1, v.guideline_id)
           + f_int(2, v.version) + f_str(3, agency(v.publisher)) + f_int(4, v.supersedes)
           + f_int(5, nanos(v.effective_at)) + f_int(6, nanos(v.ack_deadline))
           + f_list(7, utf8(v.topics)) + f_list(8, [r.encode() for r in v.legal_references])
           + f_int(9, 1 if v.audience.is_public else 0)
           + f_list(10, sorted(type_name(t).encode() for t in v.audience.agency_types))
           + f_list(11, sorted(agency(a) for a in v.audience.agencies))
           + f_int(12, len(v.contents)))
    for c in sorted(v.contents, key=lambda c: c.language.encode()):
        out += f_str(13, c.language) + f_str(14, c.title) + f_str(15, c.body)
    return out


def check_guidelines(args):
    """As --cert (an agency the guideline addresses): fetches --guideline-id through reflection,
    recomputes the canonical bytes of docs/crypto.md, checks their SHA-256 against the version's
    sha256, verifies the publisher's Ed25519 signature with the key Directory/GetAgency gives
    (also through reflection), and checks that one changed character fails both."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    channel = mtls_channel(args)
    pool = reflected_pool(channel, "concord.guidelines.v1.Guidelines")
    got = reflected_call(
        channel, pool, "/concord.guidelines.v1.Guidelines/Get",
        "concord.guidelines.v1.GetRequest", "concord.guidelines.v1.GetResponse",
        lambda cls: cls(guideline_id=args.guideline_id, preferred_languages=["fr"]))
    v = got.version
    data = guideline_version_bytes(v, pool)
    assert hashlib.sha256(data).digest() == v.sha256, "the SHA-256 of the documented bytes differs"
    dir_pool = reflected_pool(channel, "concord.directory.v1.Directory")
    agency = reflected_call(
        channel, dir_pool, "/concord.directory.v1.Directory/GetAgency",
        "concord.directory.v1.GetAgencyRequest", "concord.directory.v1.GetAgencyResponse",
        lambda cls: _get_agency_request(cls, v.publisher))
    key = load_pem_public_key(agency.agency.signing_public_key_pem.encode())
    key.verify(v.signature, data)  # raises InvalidSignature
    # The same check refuses a changed text.
    v.contents[0].body = v.contents[0].body.replace("e", "3", 1)
    changed = guideline_version_bytes(v, pool)
    assert hashlib.sha256(changed).digest() != v.sha256
    try:
        key.verify(v.signature, changed)
        raise AssertionError("a changed text verified")
    except Exception as e:  # cryptography.exceptions.InvalidSignature
        assert type(e).__name__ == "InvalidSignature", e
    return (f"{v.guideline_id} version {v.version} fetched through reflection, served in "
            f"{got.served_language}; SHA-256 {v.sha256.hex()[:16]}... recomputed from "
            f"docs/crypto.md; signature of {v.publisher.id} verified; a changed text refused")


def _get_agency_request(cls, publisher):
    """GetAgencyRequest{id: publisher}; the two messages come from two reflected pools."""
    req = cls()
    req.id.ParseFromString(publisher.SerializeToString())
    return req

def check_liaison(args):
    """As --cert (a party of --request-id): lists and fetches the request through reflection,
    rebuilds the bytes of docs/liaison.md "Signed answers" for its answer, verifies the
    executor's Ed25519 signature with the key Directory/GetAgency gives (also through reflection),
    checks that one changed SHA-256 fails, and that the gateway-only RecordCrossing refuses it."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    channel = mtls_channel(args)
    pool = reflected_pool(channel, "concord.liaison.v1.Liaison")
    listed = reflected_call(
        channel, pool, "/concord.liaison.v1.Liaison/ListRequests",
        "concord.liaison.v1.ListRequestsRequest", "concord.liaison.v1.ListRequestsResponse",
        lambda cls: cls())
    assert args.request_id in [r.request_id for r in listed.requests], "not listed"
    got = reflected_call(
        channel, pool, "/concord.liaison.v1.Liaison/GetRequest",
        "concord.liaison.v1.GetRequestRequest", "concord.liaison.v1.GetRequestResponse",
        lambda cls: cls(request_id=args.request_id))
    answers = [h for h in got.history if h.action == "answer" and h.answer_signature]
    assert answers, "no signed answer in the history"
    h = answers[-1]

    def signed_bytes(evidence):
        out = b"concord.liaison.answer.v1\0" + args.request_id.encode() + b"\0"
        out += str(h.version).encode() + b"\0"
        for e in evidence:
            out += (e.message_id.encode() + b"\0" + e.sha256.encode() + b"\0" +
                    str(e.size_bytes).encode() + b"\n")
        return out

    dir_pool = reflected_pool(channel, "concord.directory.v1.Directory")
    agency = reflected_call(
        channel, dir_pool, "/concord.directory.v1.Directory/GetAgency",
        "concord.directory.v1.GetAgencyRequest", "concord.directory.v1.GetAgencyResponse",
        lambda cls: _get_agency_request(cls, got.request.executor))
    key = load_pem_public_key(agency.agency.signing_public_key_pem.encode())
    key.verify(h.answer_signature, signed_bytes(h.evidence))  # raises InvalidSignature
    h.evidence[0].sha256 = "0" * 64
    try:
        key.verify(h.answer_signature, signed_bytes(h.evidence))
        raise AssertionError("a changed evidence list verified")
    except Exception as e:  # cryptography.exceptions.InvalidSignature
        assert type(e).__name__ == "InvalidSignature", e
    # RecordCrossing is the federation gateway's alone (docs/liaison.md "Liaison requests across
    # the border"): an agency calling it through reflection is refused by the policy table.
    try:
        reflected_call(
            channel, pool, "/concord.liaison.v1.Liaison/RecordCrossing",
            "concord.liaison.v1.RecordCrossingRequest", "concord.liaison.v1.RequestResponse",
            lambda cls: cls())
        raise AssertionError("RecordCrossing accepted from an agency")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED, e.code()
    return (f"{args.request_id} listed and fetched through reflection; the answer's evidence list "
            f"(version {h.version}, {len(h.evidence)} item(s)) verified against "
            f"{got.request.executor.id}'s directory key with the bytes of docs/liaison.md; "
            f"a changed SHA-256 refused; RecordCrossing refused (PERMISSION_DENIED)")


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
    ap.add_argument("--agency-dir", help="messaging: the sending agency's directory (pki.sh)")
    ap.add_argument("--alt-agency-dir", help="messaging: the receiving agency's directory")
    ap.add_argument("--verify-message", help="messaging: a message id for --alt-agency-dir to "
                    "verify and open (e.g. one concordctl sent)")
    ap.add_argument("--guideline-id", help="guidelines: the guideline to fetch and verify")
    ap.add_argument("--request-id", help="liaison: an answered request to fetch and verify")
    ap.add_argument("checks", nargs="+",
                    choices=["health", "reflect", "badreq", "noclient", "referrals", "messaging",
                             "guidelines", "liaison"])
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
