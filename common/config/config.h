// File: common/config/config.h
//
// Settings every Concord service shares, with one definition per option that feeds the command
// line (CLI11, in config_flags.cc only: CLI11 costs ~12 s per translation unit), the CONCORD_*
// environment variables, validation and the reference table in docs/operations.md.
//
// Every flag --foo-bar can also be set through the environment variable CONCORD_FOO_BAR; a flag
// given on the command line wins over the environment.
//
// Usage in main.cc:
//   concord::config::CommonConfig cfg;
//   CLI::App app{"concord-directory"};
//   concord::config::AddCommonFlags(app, cfg);
//   CLI11_PARSE(app, argc, argv);
//   if (auto st = concord::config::Validate(cfg); !st.ok()) { /* log, exit 2 */ }
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace concord::config {

struct CommonConfig {
  std::string listen_address = "127.0.0.1:7443";
  std::string health_address = "127.0.0.1:7081";
  std::string metrics_address = "127.0.0.1:9464";
  std::string tls_cert, tls_key, tls_ca;
  int tls_refresh_seconds = 60;
  std::string trust_domain = "concord.test";
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  // One Redis ACL user per workload (deploy/redis-users.acl, docs/redis.md): each hosted module
  // connects as its own user, with the password from --redis-<w>-password (prefer its CONCORD_*
  // variable) or --redis-<w>-password-file. See RedisWorkloads() to add a workload.
  std::string redis_directory_user = "concord-directory";
  std::string redis_directory_password, redis_directory_password_file;
  std::string redis_audit_user = "concord-audit";
  std::string redis_audit_password, redis_audit_password_file;
  std::string redis_messaging_user = "concord-messaging";
  std::string redis_messaging_password, redis_messaging_password_file;
  std::string redis_referrals_user = "concord-referrals";
  std::string redis_referrals_password, redis_referrals_password_file;
  std::string redis_guidelines_user = "concord-guidelines";
  std::string redis_guidelines_password, redis_guidelines_password_file;
  std::string redis_liaison_user = "concord-liaison";
  std::string redis_liaison_password, redis_liaison_password_file;
  std::string redis_gateway_user = "concord-gateway";
  std::string redis_gateway_password, redis_gateway_password_file;
  int redis_pool_size = 16;
  int redis_connect_timeout_ms = 500;
  int redis_command_timeout_ms = 2000;
  int drain_timeout_seconds = 10;
  int max_connection_age_seconds = 3600;
  int max_connection_age_grace_seconds = 30;
  std::string log_level = "info";
  std::string audit_key_file;
  std::string audit_signing_key_file;
  // Audit checkpoints (services/audit): how often the chain head is signed, and where each
  // signed checkpoint is exported outside Redis (besides a JSON line in the log).
  int audit_checkpoint_interval_seconds = 60;
  std::string audit_checkpoint_dir;
  std::string ed25519_backend = "sodium";
  // Bounds and quotas (common/quota, docs/operations.md "Quotas and limits"): overrides of the
  // per-agency-type table (syntax in common/quota/quota_table.h, validated by the host), and the
  // Redis memory watermark at which new messages, uploads and drafts are refused.
  std::string quotas;
  int redis_memory_watermark_percent = 85;
  int redis_memory_poll_ms = 1000;
  // Authorization (docs/security.md "Bootstrap"): comma-separated admin identities ("admin/ops")
  // that hold directory administration while no active registered agency holds it.
  std::string bootstrap_directory_admins;
  // Concord's notifiers (common/notify): the secret their message ids are keyed with.
  std::string notifier_secret_file;
  // Directory (services/directory): the notifier identity that announces directory changes to
  // the agencies concerned as Concord messages.
  std::string directory_notifier_dir;
  std::string directory_messaging_target;
  // Referrals (services/referrals, docs/referrals.md): legal defaults of the procedure's
  // durations, and the notifier identity that sends case notifications as Concord messages.
  std::string referrals_notifier_dir;
  std::string referrals_messaging_target;
  // Periods as the documents print them: hours, calendar days, calendar months, ending at the
  // end of the last day in referral_time_zone (common/time/calendar.h).
  int referral_centre_response_hours = 24;
  int referral_reflection_days = 45;
  int referral_attestation_months = 3;
  int referral_certificate_months = 6;
  int referral_reflection_reminder_days = 5;
  int referral_document_reminder_days = 14;
  std::string referral_time_zone = "Europe/Brussels";
  // Options that were replaced: any value given (flag or environment variable) is refused at
  // start with a message naming the replacement (RemovedOptions()). Keyed by flag.
  std::map<std::string, std::string> removed_options;
  // Liaison (services/liaison, docs/liaison.md "Clocks and their sources"): the notifier identity
  // and the legal defaults of the clocks (checked by the module: liaison::ClockConfig::Validate).
  // Federation gateway (services/federation, docs/liaison.md "Federation with a partner
  // deployment"): the JSON file of the partner (required by concord-gateway, read by its module).
  std::string federation_config;
  std::string liaison_notifier_dir;
  std::string liaison_messaging_target;
  int liaison_eio_acknowledgement_days = 7;
  int liaison_eio_recognition_days = 30;
  int liaison_eio_recognition_extension_max_days = 30;
  int liaison_eio_execution_days = 90;
  int liaison_spoc_urgent_direct_hours = 8;
  int liaison_spoc_urgent_indirect_days = 3;
  int liaison_spoc_standard_days = 7;
  int liaison_production_days = 10;
  int liaison_production_emergency_hours = 8;
  int liaison_preservation_days = 60;
  int liaison_preservation_extension_max_days = 30;
  int liaison_reminder_lead_hours = 24;
  int liaison_short_reminder_lead_hours = 2;
};

/// An option that no longer exists and what replaced it ("--referral-attestation-days" ->
/// "--referral-attestation-months": the attestation lasts calendar months, not 90 x 24 h).
struct RemovedOption {
  std::string_view flag;
  std::string_view replacement;
  std::string_view why;
};
const std::vector<RemovedOption>& RemovedOptions();

/// Static description of one option: the single source for flags, env vars and docs.
struct OptionInfo {
  std::string flag;           // "--redis-port"
  std::string env;            // "CONCORD_REDIS_PORT"
  std::string default_value;  // rendered default ("" = none)
  std::string description;
};

/// All common options, in documentation order.
const std::vector<OptionInfo>& CommonOptions();

/// Registers every common option on `app` (flag + ->envname(CONCORD_...) + help with default).
/// `cfg` must outlive the parse; its current values are the defaults shown.
void AddCommonFlags(CLI::App& app, CommonConfig& cfg);

/// OK, or INVALID_ARGUMENT "invalid configuration" with one FieldViolation per problem; the field
/// is the flag name ("--redis-port"), the description says precisely what is wrong, e.g.
/// "must be host:port with a port in 0..65535, got \"127.0.0.1:70000\"". Checks: addresses,
/// TLS/audit files exist and are readable (when set), TLS cert/key/ca given together, trust
/// domain syntax, pool size 1..64, timeouts > 0, connection age 1..604800 s and its grace
/// 1..86400 s, log level known, --notifier-secret-file set and readable when a notifier is
/// configured (--referrals-notifier-dir), the audit checkpoint directory (when set) is a
/// writable directory, the Redis memory watermark 0..99 % and its poll 100..60000 ms. Redis
/// credentials are checked by ValidateRedisCredentials (they depend on the hosted modules), the
/// --quotas syntax by the host (common/quota). Secrets are never echoed in descriptions.
Status Validate(const CommonConfig& cfg);

/// The entries of --bootstrap-directory-admins ("admin/ops,admin/x" -> {"admin/ops","admin/x"});
/// spaces around entries are ignored. Validate() checks them.
std::vector<std::string> BootstrapDirectoryAdmins(const CommonConfig& cfg);

/// The workloads that have their own Redis ACL user, in documentation order: "directory",
/// "audit", "messaging", "referrals", "guidelines", "liaison", "gateway". A host module's name is
/// its workload. To add one (e.g. "guidelines"): three members above, one row in config.cc's
/// credential table, its user in deploy/redis-users.acl and the Helm chart (docs/redis.md, "Adding
/// a workload").
const std::vector<std::string>& RedisWorkloads();

/// Where a workload's module logs in to Redis. The password is never logged.
struct RedisCredential {
  std::string user;
  std::string password;
};

/// OK, or INVALID_ARGUMENT "invalid configuration" with one FieldViolation per problem, for the
/// credentials of `workloads` (the modules a binary hosts): the user is set and valid, exactly
/// one of --redis-<w>-password / --redis-<w>-password-file is given, and the file is readable
/// and not empty. The field is the flag to fix. A workload not in RedisWorkloads() is reported
/// under "--redis-<w>-user".
Status ValidateRedisCredentials(const CommonConfig& cfg, const std::vector<std::string>& workloads);

/// The credential of `workload` (the password file is read now: its first line, trailing
/// whitespace removed). INVALID_ARGUMENT naming the flag, as ValidateRedisCredentials.
StatusOr<RedisCredential> RedisCredentialFor(const CommonConfig& cfg, std::string_view workload);

/// The flags of a workload's credential, for messages: {"--redis-<w>-user",
/// "--redis-<w>-password-file"}.
std::pair<std::string, std::string> RedisCredentialFlags(std::string_view workload);

/// Markdown table | Flag | Environment variable | Default | Description | of CommonOptions().
std::string ConfigReferenceMarkdown();

}  // namespace concord::config
