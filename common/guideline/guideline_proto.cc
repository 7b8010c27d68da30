// File: common/guideline/guideline_proto.cc
#include "common/guideline/guideline_proto.h"

#include "absl/strings/str_cat.h"

namespace concord::guideline {
namespace {

namespace cv1 = ::concord::common::v1;

void AgencyInto(const cv1::AgencyId& proto, const std::string& path, AgencyId& out,
                FieldErrors& errors) {
  auto a = AgencyFromProto(proto);
  if (!a.ok()) {
    errors.Add(path, std::string(a.status().message()));
    return;
  }
  out = *std::move(a);
}

void TimeInto(const google::protobuf::Timestamp& ts, const std::string& path, absl::Time& out,
              FieldErrors& errors) {
  if (!IsEncodableTimestamp(ts)) {
    errors.Add(path, "timestamp out of range");
    return;
  }
  out = TimeFromProto(ts);
}

}  // namespace

bool IsEncodableTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.nanos() >= 0 && ts.nanos() < 1'000'000'000 && ts.seconds() >= -9'223'372'035LL &&
         ts.seconds() <= 9'223'372'035LL;
}

StatusOr<AgencyId> AgencyFromProto(const cv1::AgencyId& proto) {
  auto type = AgencyTypeFromProto(proto.type());
  if (!type.ok()) return absl::InvalidArgumentError("unknown agency type");
  AgencyId a{proto.trust_domain(), *type, proto.id()};
  if (!ValidateTrustDomain(a.trust_domain).ok()) {
    return absl::InvalidArgumentError("invalid trust domain");
  }
  if (!ValidateAgencyLocalId(a.id).ok()) {
    return absl::InvalidArgumentError("agency id must match [a-z0-9][a-z0-9-]{0,62}");
  }
  return a;
}

void AgencyToProto(const AgencyId& agency, cv1::AgencyId& out) {
  out.set_trust_domain(agency.trust_domain);
  out.set_type(AgencyTypeToProto(agency.type));
  out.set_id(agency.id);
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp& out) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t seconds = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    seconds -= 1;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(nanos));
}

StatusOr<Version> VersionFromProto(const v1::GuidelineVersion& p, std::string_view field) {
  FieldErrors errors;
  const std::string f(field);
  Version v;
  v.guideline_id = p.guideline_id();
  v.version = p.version();
  AgencyInto(p.publisher(), f + ".publisher", v.publisher, errors);
  v.supersedes = p.supersedes();
  TimeInto(p.effective_at(), f + ".effective_at", v.effective_at, errors);
  TimeInto(p.ack_deadline(), f + ".ack_deadline", v.ack_deadline, errors);
  v.topics.assign(p.topics().begin(), p.topics().end());
  v.legal_references.assign(p.legal_references().begin(), p.legal_references().end());
  v.audience.is_public = p.audience().is_public();
  for (int i = 0; i < p.audience().agency_types_size(); ++i) {
    auto type = AgencyTypeFromProto(p.audience().agency_types(i));
    if (!type.ok()) {
      errors.Add(absl::StrCat(f, ".audience.agency_types[", i, "]"), "unknown agency type");
      continue;
    }
    v.audience.types.push_back(*type);
  }
  for (int i = 0; i < p.audience().agencies_size(); ++i) {
    AgencyId a;
    AgencyInto(p.audience().agencies(i), absl::StrCat(f, ".audience.agencies[", i, "]"), a, errors);
    v.audience.agencies.push_back(std::move(a));
  }
  for (const v1::Content& c : p.contents()) {
    v.contents.push_back(Content{c.language(), c.title(), c.body()});
  }
  if (Status s = errors.ToStatus("invalid guideline version"); !s.ok()) {
    return WithReason(std::move(s), "INVALID_VERSION");
  }
  return v;
}

StatusOr<SignedVersion> SignedVersionFromProto(const v1::GuidelineVersion& p,
                                               std::string_view field) {
  StatusOr<Version> v = VersionFromProto(p, field);
  if (!v.ok()) return v.status();
  return SignedVersion{*std::move(v), p.signature()};
}

void VersionToProto(const Version& v, v1::GuidelineVersion& out) {
  out.set_guideline_id(v.guideline_id);
  out.set_version(v.version);
  AgencyToProto(v.publisher, *out.mutable_publisher());
  out.set_supersedes(v.supersedes);
  TimeToProto(v.effective_at, *out.mutable_effective_at());
  TimeToProto(v.ack_deadline, *out.mutable_ack_deadline());
  out.clear_topics();
  for (const std::string& t : v.topics) out.add_topics(t);
  out.clear_legal_references();
  for (const std::string& r : v.legal_references) out.add_legal_references(r);
  v1::Audience* audience = out.mutable_audience();
  audience->Clear();
  audience->set_is_public(v.audience.is_public);
  for (AgencyType t : v.audience.types) audience->add_agency_types(AgencyTypeToProto(t));
  for (const AgencyId& a : v.audience.agencies) AgencyToProto(a, *audience->add_agencies());
  out.clear_contents();
  for (const Content& c : v.contents) {
    v1::Content* pc = out.add_contents();
    pc->set_language(c.language);
    pc->set_title(c.title);
    pc->set_body(c.body);
  }
}

void SignedVersionToProto(const SignedVersion& s, std::string_view sha256,
                          v1::GuidelineVersion& out) {
  VersionToProto(s.version, out);
  out.set_signature(s.signature);
  out.set_sha256(std::string(sha256));
}

StatusOr<SignedWithdrawal> SignedWithdrawalFromProto(const v1::Withdrawal& p,
                                                     std::string_view field) {
  FieldErrors errors;
  const std::string f(field);
  SignedWithdrawal s;
  Withdrawal& w = s.withdrawal;
  w.guideline_id = p.guideline_id();
  w.version = p.version();
  w.version_sha256 = p.version_sha256();
  AgencyInto(p.withdrawn_by(), f + ".withdrawn_by", w.withdrawn_by, errors);
  TimeInto(p.withdrawn_at(), f + ".withdrawn_at", w.withdrawn_at, errors);
  w.reason = p.reason();
  s.signature = p.signature();
  if (Status st = errors.ToStatus("invalid withdrawal"); !st.ok()) {
    return WithReason(std::move(st), "INVALID_WITHDRAWAL");
  }
  return s;
}

void SignedWithdrawalToProto(const SignedWithdrawal& s, v1::Withdrawal& out) {
  const Withdrawal& w = s.withdrawal;
  out.set_guideline_id(w.guideline_id);
  out.set_version(w.version);
  out.set_version_sha256(w.version_sha256);
  AgencyToProto(w.withdrawn_by, *out.mutable_withdrawn_by());
  TimeToProto(w.withdrawn_at, *out.mutable_withdrawn_at());
  out.set_reason(w.reason);
  out.set_signature(s.signature);
}

}  // namespace concord::guideline
