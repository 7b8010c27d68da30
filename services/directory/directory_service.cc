// File: services/directory/directory_service.cc
#include "services/directory/directory_service.h"

#include "common/audit/audit_context.h"
#include "common/identity/caller.h"
#include "common/limits/field_limits.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/directory/announcement.h"

namespace concord::directory {
namespace {

namespace pb = concord::directory::v1;

constexpr std::string_view kRegister = "/concord.directory.v1.Directory/RegisterAgency";
constexpr std::string_view kUpdate = "/concord.directory.v1.Directory/UpdateAgency";
constexpr std::string_view kSuspend = "/concord.directory.v1.Directory/SuspendAgency";
constexpr std::string_view kReinstate = "/concord.directory.v1.Directory/ReinstateAgency";
constexpr std::string_view kRevoke = "/concord.directory.v1.Directory/RevokeCertificate";
constexpr int kMaxMutateAttempts = 3;

void ToProtoId(const AgencyId& id, concord::common::v1::AgencyId* out) {
  out->set_trust_domain(id.trust_domain);
  out->set_type(AgencyTypeToProto(id.type));
  out->set_id(id.id);
}

pb::AttributeType ToProtoAttributeType(attributes::ValueType type) {
  switch (type) {
    case attributes::ValueType::kFlag:
      return pb::ATTRIBUTE_TYPE_FLAG;
    case attributes::ValueType::kEnum:
      return pb::ATTRIBUTE_TYPE_ENUM;
    case attributes::ValueType::kTimeZone:
      return pb::ATTRIBUTE_TYPE_TIME_ZONE;
  }
  return pb::ATTRIBUTE_TYPE_UNSPECIFIED;
}

// Nanosecond precision: a key endorsement's issued_at is signed to the nanosecond.
void ToProtoTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t seconds = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

// Security: Disclosure::kPublic (platforms, foreign partners, Concord's service identities,
// admins without a role) gets what signatures and sealing need and nothing operational: no
// suspension reason, no certificate serials, no jurisdiction or profile, no attributes.
void ToProtoAgency(const Agency& a, Disclosure disclosure, pb::Agency* out) {
  ToProtoId(a.spec.id, out->mutable_id());
  out->set_display_name(a.spec.display_name);
  out->set_signing_public_key_pem(a.spec.signing_public_key_pem);
  out->set_sealing_public_key_pem(a.spec.sealing_public_key_pem);
  if (a.key_endorsement.has_value()) {
    pb::KeyEndorsement* e = out->mutable_key_endorsement();
    e->set_previous_signing_key(a.key_endorsement->previous_signing_key);
    ToProtoTime(a.key_endorsement->issued_at, e->mutable_issued_at());
    e->set_signature(a.key_endorsement->signature);
  }
  if (disclosure != Disclosure::kFull) return;
  out->set_jurisdiction(a.spec.jurisdiction);
  for (const auto& s : a.spec.specialisations) out->add_specialisations(s);
  for (const auto& l : a.spec.languages) out->add_languages(l);
  for (const auto& s : a.spec.certificate_serials) out->add_certificate_serials(s);
  out->set_capacity(a.spec.capacity);
  out->set_state(a.state == AgencyState::kSuspended ? pb::AGENCY_STATE_SUSPENDED
                                                    : pb::AGENCY_STATE_ACTIVE);
  out->set_suspension_reason(a.suspension_reason);
  ToProtoTime(a.created_at, out->mutable_created_at());
  ToProtoTime(a.updated_at, out->mutable_updated_at());
  out->set_version(a.version);
  for (const attributes::EffectiveAttribute& e :
       attributes::AgencyAttributes(a.spec.id, a.attributes).All()) {
    pb::AgencyAttribute* attr = out->add_attributes();
    attr->set_name(std::string(e.name));
    attr->set_value(e.value);
    attr->set_type(ToProtoAttributeType(e.type));
    attr->set_is_default(e.is_default);
  }
}

std::string AgencyObject(const AgencyId& id) { return "agency:" + id.Key(); }

// The object of an audit record for a request whose id may be invalid: never echo raw input.
std::string RequestedAgencyObject(const concord::common::v1::AgencyId& id,
                                  std::string_view trust_domain) {
  auto parsed = AgencyIdFromProto(id, trust_domain, "id");
  return parsed.ok() ? AgencyObject(*parsed) : "agency:invalid";
}

}  // namespace

// Field names are prefixed so violations point into the request ("agency.id.type").
StatusOr<AgencyId> AgencyIdFromProto(const concord::common::v1::AgencyId& in,
                                     std::string_view trust_domain, std::string_view field) {
  auto type = AgencyTypeFromProto(in.type());
  if (!type.ok()) {
    return InvalidArgumentWithFields("invalid agency id",
                                     {{std::string(field) + ".type", "required agency type"}});
  }
  return NormalizeAgencyId(AgencyId{in.trust_domain(), *type, in.id()}, trust_domain, field);
}

StatusOr<AgencySpec> AgencySpecFromProto(const v1::AgencySpec& in, std::string_view trust_domain) {
  auto type = AgencyTypeFromProto(in.id().type());
  if (!type.ok()) {
    return InvalidArgumentWithFields("invalid agency",
                                     {{"agency.id.type", "required agency type"}});
  }
  AgencySpec spec;
  spec.id = AgencyId{in.id().trust_domain(), *type, in.id().id()};
  spec.display_name = in.display_name();
  spec.jurisdiction = in.jurisdiction();
  spec.specialisations.assign(in.specialisations().begin(), in.specialisations().end());
  spec.languages.assign(in.languages().begin(), in.languages().end());
  spec.signing_public_key_pem = in.signing_public_key_pem();
  spec.sealing_public_key_pem = in.sealing_public_key_pem();
  spec.certificate_serials.assign(in.certificate_serials().begin(), in.certificate_serials().end());
  spec.capacity = in.capacity();
  for (const v1::AgencyAttribute& a : in.attributes()) {
    spec.attributes.push_back(attributes::AttributeSetting{a.name(), a.value()});
  }
  if (in.has_key_endorsement()) {
    const v1::KeyEndorsement& e = in.key_endorsement();
    spec.key_endorsement =
        crypto::KeyEndorsement{e.previous_signing_key(),
                               e.has_issued_at() ? absl::FromUnixSeconds(e.issued_at().seconds()) +
                                                       absl::Nanoseconds(e.issued_at().nanos())
                                                 : absl::InfinitePast(),
                               e.signature()};
  }
  return NormalizeAgencySpec(std::move(spec), trust_domain, "agency");
}

DirectoryService::DirectoryService(std::string trust_domain, DirectoryStore& store,
                                   audit::AuditSink& audit, const Clock& clock,
                                   const authz::RevocationView& roles)
    : trust_domain_(std::move(trust_domain)),
      store_(store),
      audit_(audit),
      clock_(clock),
      roles_(roles) {}

Disclosure DirectoryService::DisclosureOf(const grpc::ServerContext& ctx) const {
  auto caller = CallerFromContext(ctx);
  if (!caller.ok()) return Disclosure::kPublic;
  const authz::AdminRoles roles = caller->agency.type == AgencyType::kAdmin
                                      ? roles_.RolesOf(caller->agency)
                                      : authz::AdminRoles{};
  return DisclosureFor(authz::PrincipalsOf(caller->agency, roles));
}

bool DirectoryService::IsBootstrapGrant(const Caller& caller) const {
  return caller.agency.type == AgencyType::kAdmin && roles_.RolesOf(caller.agency).bootstrap;
}

std::string DirectoryService::Details(bool bootstrap, const StatusOr<Changed>& result) {
  return WithBootstrapMark(bootstrap, result.ok() ? ChangeSummary(result->changes) : std::string());
}

std::string DirectoryService::WithBootstrapMark(bool bootstrap, std::string details) {
  // Security: a call allowed only by the bootstrap list is marked as such in the audit log.
  if (bootstrap) {
    details = details.empty() ? "bootstrap directory administrator"
                              : details + "; bootstrap directory administrator";
  }
  return details;
}

std::optional<Announcement> DirectoryService::Announce(const Caller& caller, const Agency& agency,
                                                       std::string_view event,
                                                       const std::vector<RecordChange>& changes,
                                                       const std::string& seal_to_pem) const {
  if (changes.empty() || !ReceivesDirectoryAnnouncements(agency.spec.id)) return std::nullopt;
  return Announcement{
      AnnouncementId(agency.spec.id, agency.version), agency.spec.id,
      AnnouncementBody(event, agency.spec.id, agency.version, caller.agency, clock_.Now(), changes),
      seal_to_pem};
}

Status DirectoryService::Audit(const grpc::ServerContext& ctx, const Caller& caller,
                               audit::Operation op, std::string object, std::string_view method,
                               std::string details, const Status& result) {
  audit::AuditEvent event;
  event.agency = caller.agency;
  event.officer = audit::OfficerFromContext(ctx);
  event.operation = op;
  event.object = std::move(object);
  event.method = std::string(method);
  event.justification = audit::JustificationFromContext(ctx);
  event.outcome = absl::StatusCodeToString(result.code());
  event.time = clock_.Now();
  event.details = std::move(details);
  if (Status s = audit_.Append(event); !s.ok()) {
    log::Error("directory.audit_failed",
               {{"method", std::string(method)}, {"code", absl::StatusCodeToString(s.code())}});
    return absl::UnavailableError(result.ok() ? "the change was applied but could not be audited"
                                              : "the audit log is unavailable");
  }
  return result;
}

template <typename Change>
StatusOr<DirectoryService::Changed> DirectoryService::Mutate(const AgencyId& id, Change change) {
  Status last = absl::AbortedError("agency was changed concurrently");
  for (int attempt = 0; attempt < kMaxMutateAttempts; ++attempt) {
    CONCORD_ASSIGN_OR_RETURN(const Agency current, store_.Get(id));
    CONCORD_ASSIGN_OR_RETURN(Agency next, change(current));
    last = store_.Replace(current, next, /*announcement=*/nullptr);
    if (last.ok()) return Changed{next, DiffAgency(&current, next)};
    if (last.code() != absl::StatusCode::kAborted) return last;
  }
  return last;
}

StatusOr<DirectoryService::Changed> DirectoryService::Register(
    const grpc::ServerContext& ctx, const Caller& caller, const pb::RegisterAgencyRequest& req) {
  CONCORD_RETURN_IF_ERROR(
      CheckAccountability(audit::OfficerFromContext(ctx), audit::JustificationFromContext(ctx)));
  CONCORD_ASSIGN_OR_RETURN(AgencySpec spec, AgencySpecFromProto(req.agency(), trust_domain_));
  CONCORD_ASSIGN_OR_RETURN(Agency agency, NewAgency(std::move(spec), clock_.Now()));
  std::vector<RecordChange> changes = DiffAgency(nullptr, agency);
  const std::optional<Announcement> announcement =
      Announce(caller, agency, "agency.registered", changes, agency.spec.sealing_public_key_pem);
  CONCORD_RETURN_IF_ERROR(
      store_.Create(agency, announcement.has_value() ? &*announcement : nullptr));
  return Changed{std::move(agency), std::move(changes)};
}

StatusOr<DirectoryService::Changed> DirectoryService::Update(const grpc::ServerContext& ctx,
                                                             const Caller& caller,
                                                             const pb::UpdateAgencyRequest& req) {
  CONCORD_RETURN_IF_ERROR(
      CheckAccountability(audit::OfficerFromContext(ctx), audit::JustificationFromContext(ctx)));
  CONCORD_ASSIGN_OR_RETURN(AgencySpec spec, AgencySpecFromProto(req.agency(), trust_domain_));
  CONCORD_ASSIGN_OR_RETURN(const Agency current, store_.Get(spec.id));
  CONCORD_ASSIGN_OR_RETURN(
      Agency next,
      directory::UpdateAgency(current, std::move(spec), req.expected_version(), clock_.Now()));
  std::vector<RecordChange> changes = DiffAgency(&current, next);
  const std::optional<Announcement> announcement =
      Announce(caller, next, "agency.updated", changes, current.spec.sealing_public_key_pem);
  // No retry here: an update replaces every field, so a concurrent change must be re-read by
  // the administrator (ABORTED).
  CONCORD_RETURN_IF_ERROR(
      store_.Replace(current, next, announcement.has_value() ? &*announcement : nullptr));
  return Changed{std::move(next), std::move(changes)};
}

grpc::Status DirectoryService::RegisterAgency(grpc::ServerContext* ctx,
                                              const pb::RegisterAgencyRequest* req,
                                              pb::RegisterAgencyResponse* resp) {
  // Every field within its bound (limits.proto) before anything reads the request.
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  // Security: the acting agency comes from the peer certificate (already authenticated by the
  // AuthProcessor).
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Read before the change: registering a directory administrator ends the grant.
  const bool bootstrap = IsBootstrapGrant(caller);
  StatusOr<Changed> result = Register(*ctx, caller, *req);
  if (result.ok()) ToProtoAgency(result->agency, Disclosure::kFull, resp->mutable_agency());
  return ToGrpcStatus(Audit(*ctx, caller, audit::Operation::kCollection,
                            RequestedAgencyObject(req->agency().id(), trust_domain_), kRegister,
                            Details(bootstrap, result), result.status()));
}

grpc::Status DirectoryService::UpdateAgency(grpc::ServerContext* ctx,
                                            const pb::UpdateAgencyRequest* req,
                                            pb::UpdateAgencyResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Read before the change: registering a directory administrator ends the grant.
  const bool bootstrap = IsBootstrapGrant(caller);
  StatusOr<Changed> result = Update(*ctx, caller, *req);
  if (result.ok()) ToProtoAgency(result->agency, Disclosure::kFull, resp->mutable_agency());
  return ToGrpcStatus(Audit(*ctx, caller, audit::Operation::kAlteration,
                            RequestedAgencyObject(req->agency().id(), trust_domain_), kUpdate,
                            Details(bootstrap, result), result.status()));
}

grpc::Status DirectoryService::SuspendAgency(grpc::ServerContext* ctx,
                                             const pb::SuspendAgencyRequest* req,
                                             pb::SuspendAgencyResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Read before the change: registering a directory administrator ends the grant.
  const bool bootstrap = IsBootstrapGrant(caller);
  StatusOr<Changed> result = [&]() -> StatusOr<Changed> {
    CONCORD_RETURN_IF_ERROR(CheckAccountability(audit::OfficerFromContext(*ctx),
                                                audit::JustificationFromContext(*ctx)));
    CONCORD_ASSIGN_OR_RETURN(const AgencyId id, AgencyIdFromProto(req->id(), trust_domain_, "id"));
    const absl::Time now = clock_.Now();
    return Mutate(id,
                  [&](const Agency& a) { return directory::SuspendAgency(a, req->reason(), now); });
  }();
  if (result.ok()) ToProtoAgency(result->agency, Disclosure::kFull, resp->mutable_agency());
  return ToGrpcStatus(Audit(*ctx, caller, audit::Operation::kAlteration,
                            RequestedAgencyObject(req->id(), trust_domain_), kSuspend,
                            Details(bootstrap, result), result.status()));
}

grpc::Status DirectoryService::ReinstateAgency(grpc::ServerContext* ctx,
                                               const pb::ReinstateAgencyRequest* req,
                                               pb::ReinstateAgencyResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Read before the change: registering a directory administrator ends the grant.
  const bool bootstrap = IsBootstrapGrant(caller);
  StatusOr<Changed> result = [&]() -> StatusOr<Changed> {
    CONCORD_RETURN_IF_ERROR(CheckAccountability(audit::OfficerFromContext(*ctx),
                                                audit::JustificationFromContext(*ctx)));
    CONCORD_ASSIGN_OR_RETURN(const AgencyId id, AgencyIdFromProto(req->id(), trust_domain_, "id"));
    const absl::Time now = clock_.Now();
    return Mutate(id, [&](const Agency& a) { return directory::ReinstateAgency(a, now); });
  }();
  if (result.ok()) ToProtoAgency(result->agency, Disclosure::kFull, resp->mutable_agency());
  return ToGrpcStatus(Audit(*ctx, caller, audit::Operation::kAlteration,
                            RequestedAgencyObject(req->id(), trust_domain_), kReinstate,
                            Details(bootstrap, result), result.status()));
}

grpc::Status DirectoryService::RevokeCertificate(grpc::ServerContext* ctx,
                                                 const pb::RevokeCertificateRequest* req,
                                                 pb::RevokeCertificateResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Read before the change: registering a directory administrator ends the grant.
  const bool bootstrap = IsBootstrapGrant(caller);
  StatusOr<RevokedSerial> result = [&]() -> StatusOr<RevokedSerial> {
    CONCORD_RETURN_IF_ERROR(CheckAccountability(audit::OfficerFromContext(*ctx),
                                                audit::JustificationFromContext(*ctx)));
    CONCORD_ASSIGN_OR_RETURN(RevokedSerial r,
                             NewRevocation(req->serial(), req->reason(), clock_.Now()));
    return store_.Revoke(r);
  }();
  if (result.ok()) {
    resp->set_serial(result->serial);
    ToProtoTime(result->revoked_at, resp->mutable_revoked_at());
  }
  const std::string object =
      result.ok() ? "certificate:" + result->serial : std::string("certificate:invalid");
  return ToGrpcStatus(Audit(*ctx, caller, audit::Operation::kAlteration, object, kRevoke,
                            WithBootstrapMark(bootstrap, ""), result.status()));
}

grpc::Status DirectoryService::GetAgency(grpc::ServerContext* ctx, const pb::GetAgencyRequest* req,
                                         pb::GetAgencyResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const AgencyId id,
                                AgencyIdFromProto(req->id(), trust_domain_, "id"));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Agency agency, store_.Get(id));
  ToProtoAgency(agency, DisclosureOf(*ctx), resp->mutable_agency());
  return grpc::Status::OK;
}

grpc::Status DirectoryService::ListAgencies(grpc::ServerContext* ctx,
                                            const pb::ListAgenciesRequest* req,
                                            pb::ListAgenciesResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  AgencyFilter filter;
  if (req->type() != concord::common::v1::AGENCY_TYPE_UNSPECIFIED) {
    auto type = AgencyTypeFromProto(req->type());
    if (!type.ok()) {
      return ToGrpcStatus(
          InvalidArgumentWithFields("invalid filter", {{"type", "unknown agency type"}}));
    }
    filter.type = *type;
  }
  filter.jurisdiction = req->jurisdiction();
  filter.specialisation = req->specialisation();
  filter.language = req->language();
  filter.include_suspended = req->include_suspended();
  CONCORD_GRPC_ASSIGN_OR_RETURN(filter, NormalizeFilter(std::move(filter)));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const int limit, EffectivePageSize(req->page().page_size()));
  // The page token is the last agency key of the previous page.
  const std::string& token = req->page().page_token();
  if (!token.empty() && !ParseAgencyKey(trust_domain_, token).ok()) {
    return ToGrpcStatus(
        InvalidArgumentWithFields("invalid page", {{"page.page_token", "not a page token"}}));
  }
  CONCORD_GRPC_ASSIGN_OR_RETURN(AgencyPage page, store_.List(filter, token, limit));
  const Disclosure disclosure = DisclosureOf(*ctx);
  for (const Agency& a : page.agencies) ToProtoAgency(a, disclosure, resp->add_agencies());
  resp->set_next_page_token(page.next_after_key);
  return grpc::Status::OK;
}

grpc::Status DirectoryService::GetRevocations(grpc::ServerContext*,
                                              const pb::GetRevocationsRequest*,
                                              pb::GetRevocationsResponse* resp) {
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Revocations r, store_.ListRevocations());
  for (const Agency& a : r.suspended_agencies) {
    auto* s = resp->add_suspended_agencies();
    ToProtoId(a.spec.id, s->mutable_id());
    s->set_reason(a.suspension_reason);
  }
  for (const RevokedSerial& rs : r.revoked_serials) {
    auto* out = resp->add_revoked_serials();
    out->set_serial(rs.serial);
    out->set_reason(rs.reason);
    ToProtoTime(rs.revoked_at, out->mutable_revoked_at());
  }
  return grpc::Status::OK;
}

}  // namespace concord::directory
