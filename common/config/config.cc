// File: common/config/config.cc
#include "common/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include "common/config/internal/options.h"
#include "common/status/status_macros.h"

namespace concord::config {
namespace internal {

const std::vector<OptionDef>& OptionDefs() {
  static const auto* const kDefs = new std::vector<OptionDef>{
      {"--listen-address", &CommonConfig::listen_address,
       "gRPC listen address (mutual TLS), host:port; port 0 picks a free port"},
      {"--health-address", &CommonConfig::health_address,
       "Plaintext gRPC health-only listen address for Kubernetes gRPC probes, host:port; serves "
       "grpc.health.v1.Health and nothing else"},
      {"--metrics-address", &CommonConfig::metrics_address,
       "HTTP listen address for /metrics, /healthz and /readyz, IP:port or localhost:port"},
      {"--tls-cert", &CommonConfig::tls_cert,
       "PEM certificate (chain) of this service, SPIFFE ID in the URI SAN; re-read on change "
       "(required)"},
      {"--tls-key", &CommonConfig::tls_key, "PEM private key of --tls-cert (required)"},
      {"--tls-ca", &CommonConfig::tls_ca,
       "PEM CA bundle that verifies peer certificates (required)"},
      {"--tls-refresh-seconds", &CommonConfig::tls_refresh_seconds,
       "How often the TLS files are re-read for certificate rotation, in seconds (> 0)"},
      {"--trust-domain", &CommonConfig::trust_domain,
       "SPIFFE trust domain of this deployment; peers from any other trust domain are rejected"},
      {"--redis-host", &CommonConfig::redis_host, "Redis host name or IP address"},
      {"--redis-port", &CommonConfig::redis_port, "Redis TCP port (1..65535)"},
      {"--redis-directory-user", &CommonConfig::redis_directory_user,
       "Redis ACL user of the directory module (deploy/redis-users.acl)"},
      {"--redis-directory-password", &CommonConfig::redis_directory_password,
       "Password of --redis-directory-user; prefer the environment variable or the file: command "
       "lines are visible to other local users"},
      {"--redis-directory-password-file", &CommonConfig::redis_directory_password_file,
       "File holding the password of --redis-directory-user (first line); required when the "
       "binary hosts the directory module, unless the password is given"},
      {"--redis-audit-user", &CommonConfig::redis_audit_user,
       "Redis ACL user of the audit module (deploy/redis-users.acl)"},
      {"--redis-audit-password", &CommonConfig::redis_audit_password,
       "Password of --redis-audit-user; prefer the environment variable or the file"},
      {"--redis-audit-password-file", &CommonConfig::redis_audit_password_file,
       "File holding the password of --redis-audit-user (first line); required when the binary "
       "hosts the audit module, unless the password is given"},
      {"--redis-messaging-user", &CommonConfig::redis_messaging_user,
       "Redis ACL user of the messaging module (deploy/redis-users.acl)"},
      {"--redis-messaging-password", &CommonConfig::redis_messaging_password,
       "Password of --redis-messaging-user; prefer the environment variable or the file"},
      {"--redis-messaging-password-file", &CommonConfig::redis_messaging_password_file,
       "File holding the password of --redis-messaging-user (first line); required when the "
       "binary hosts the messaging module, unless the password is given"},
      {"--redis-referrals-user", &CommonConfig::redis_referrals_user,
       "Redis ACL user of the referrals module (deploy/redis-users.acl)"},
      {"--redis-referrals-password", &CommonConfig::redis_referrals_password,
       "Password of --redis-referrals-user; prefer the environment variable or the file"},
      {"--redis-referrals-password-file", &CommonConfig::redis_referrals_password_file,
       "File holding the password of --redis-referrals-user (first line); required when the "
       "binary hosts the referrals module, unless the password is given"},
      {"--redis-guidelines-user", &CommonConfig::redis_guidelines_user,
       "Redis ACL user of the guidelines module (deploy/redis-users.acl)"},
      {"--redis-guidelines-password", &CommonConfig::redis_guidelines_password,
       "Password of --redis-guidelines-user; prefer the environment variable or the file"},
      {"--redis-guidelines-password-file", &CommonConfig::redis_guidelines_password_file,
       "File holding the password of --redis-guidelines-user (first line); required when the "
       "binary hosts the guidelines module, unless the password is given"},
      {"--redis-liaison-user", &CommonConfig::redis_liaison_user,
       "Redis ACL user of the liaison module (deploy/redis-users.acl)"},
      {"--redis-liaison-password", &CommonConfig::redis_liaison_password,
       "Password of --redis-liaison-user; prefer the environment variable or the file"},
      {"--redis-liaison-password-file", &CommonConfig::redis_liaison_password_file,
       "File holding the password of --redis-liaison-user (first line); required when the "
       "binary hosts the liaison module, unless the password is given"},
      {"--redis-gateway-user", &CommonConfig::redis_gateway_user,
       "Redis ACL user of the federation gateway module (deploy/redis-users.acl)"},
      {"--redis-gateway-password", &CommonConfig::redis_gateway_password,
       "Password of --redis-gateway-user; prefer the environment variable or the file"},
      {"--redis-gateway-password-file", &CommonConfig::redis_gateway_password_file,
       "File holding the password of --redis-gateway-user (first line); required when the "
       "binary hosts the gateway module (concord-gateway), unless the password is given"},
      {"--redis-pool-size", &CommonConfig::redis_pool_size,
       "Redis connections per process (1..64)"},
      {"--redis-connect-timeout-ms", &CommonConfig::redis_connect_timeout_ms,
       "Redis connect timeout, in milliseconds (> 0)"},
      {"--redis-command-timeout-ms", &CommonConfig::redis_command_timeout_ms,
       "Redis command timeout, in milliseconds (> 0)"},
      {"--drain-timeout-seconds", &CommonConfig::drain_timeout_seconds,
       "On SIGTERM, how long in-flight RPCs may run before the server stops, in seconds (>= 0)"},
      {"--max-connection-age-seconds", &CommonConfig::max_connection_age_seconds,
       "Maximum age of a client connection on the mutual TLS port, in seconds (1..604800; gRPC "
       "adds +-10 % jitter): the server then sends GOAWAY and clients reconnect, with a new TLS "
       "handshake"},
      {"--max-connection-age-grace-seconds", &CommonConfig::max_connection_age_grace_seconds,
       "After --max-connection-age-seconds, how long calls still open (Subscribe streams) may "
       "run before the connection is closed, in seconds (1..86400); Concord's clients resume"},
      {"--log-level", &CommonConfig::log_level, "Minimum log level: debug, info, warn or error"},
      {"--audit-key-file", &CommonConfig::audit_key_file,
       "File holding the deployment's audit record encryption key (AES-256-GCM); audit "
       "writers only"},
      {"--audit-signing-key-file", &CommonConfig::audit_signing_key_file,
       "PEM Ed25519 private key that signs audit log tree heads; audit service only"},
      {"--audit-checkpoint-interval-seconds", &CommonConfig::audit_checkpoint_interval_seconds,
       "Audit service: a checkpoint of the chain head is signed (and exported) at least this "
       "often while records are added, in seconds (1..86400); records after the last exported "
       "checkpoint are the window a Redis intruder could cut unseen (docs/security.md)"},
      {"--audit-checkpoint-dir", &CommonConfig::audit_checkpoint_dir,
       "Audit service: directory where every signed checkpoint is exported as a file "
       "checkpoint-<seq>.json (also logged as event audit.checkpoint); keep it outside Redis and "
       "verify against it with concordctl audit verify --expect-checkpoint; empty: the log line "
       "only"},
      {"--ed25519-backend", &CommonConfig::ed25519_backend,
       "Library that verifies and computes Ed25519 signatures: sodium (libsodium, about twice as "
       "fast; see docs/performance.md) or openssl"},
      {"--quotas", &CommonConfig::quotas,
       "Overrides of the per-agency quotas and limits, ';'-separated: <type>.<bucket>=<burst>/"
       "<refill per second> (buckets send, send_bytes, upload, upload_bytes, draft, publish, ack, "
       "liaison_request, jit_write, msg_ack, read, checkpoint) or "
       "<type>.<cap>=<count> (caps streams, pending_uploads, drafts, verifications); <type> an "
       "agency type or *; "
       "e.g. \"platform.send=500/0.5;*.streams=16\"; empty: the defaults of docs/operations.md"},
      {"--redis-memory-watermark-percent", &CommonConfig::redis_memory_watermark_percent,
       "Percentage of Redis maxmemory at which new messages, uploads and drafts are refused "
       "(RESOURCE_EXHAUSTED) while acknowledgements, audit appends and erasures go on (0..99; 0: "
       "never; no effect without maxmemory)"},
      {"--redis-memory-poll-ms", &CommonConfig::redis_memory_poll_ms,
       "How often Redis memory is read (INFO memory) for the watermark, in milliseconds "
       "(100..60000)"},
      {"--bootstrap-directory-admins", &CommonConfig::bootstrap_directory_admins,
       "Comma-separated admin identities (admin/<id>, not admin/concord-*) that hold directory "
       "administration while no active registered agency holds the attribute "
       "directory_administrator: how the first administrator registers itself on an empty "
       "deployment. Ends by itself; audited and logged (docs/security.md \"Bootstrap\")"},
      {"--notifier-secret-file", &CommonConfig::notifier_secret_file,
       "File holding the deployment's notifier secret (32 random bytes, or 64 hex characters: "
       "openssl rand -hex 32): Concord's notifiers key their message ids with it (HMAC-SHA256) "
       "so that no agency can predict them; required with --referrals-notifier-dir, "
       "--directory-notifier-dir and --liaison-notifier-dir"},
      {"--directory-notifier-dir", &CommonConfig::directory_notifier_dir,
       "Directory: directory of the notifier identity admin/concord-directory as made by "
       "scripts/pki.sh (cert.pem, key.pem, sign.key, seal.key), which announces every change of "
       "an agency's record to that agency; empty: announcements stay queued in Redis until one "
       "is configured"},
      {"--directory-messaging-target", &CommonConfig::directory_messaging_target,
       "Directory: host:port of the messaging service the announcements are sent through "
       "(mutual TLS); empty: this server's --listen-address"},
      {"--referrals-notifier-dir", &CommonConfig::referrals_notifier_dir,
       "Referrals: directory of the notifier identity admin/concord-referrals as made by "
       "scripts/pki.sh (cert.pem, key.pem, sign.key, seal.key); empty: case notifications stay "
       "queued in Redis until one is configured"},
      {"--referrals-messaging-target", &CommonConfig::referrals_messaging_target,
       "Referrals: host:port of the messaging service the notifier sends through (mutual TLS); "
       "empty: this server's --listen-address"},
      {"--referral-centre-response-hours", &CommonConfig::referral_centre_response_hours,
       "Referrals: hours a reception centre has to accept or decline a referral"},
      {"--referral-reflection-days", &CommonConfig::referral_reflection_days,
       "Referrals: reflection period in days (Law of 15 Dec 1980 art. 61/2: 45)"},
      {"--referral-attestation-months", &CommonConfig::referral_attestation_months,
       "Referrals: validity in calendar months of the attestation of registration (max. 3 "
       "months; unaccompanied minors receive it directly)"},
      {"--referral-certificate-months", &CommonConfig::referral_certificate_months,
       "Referrals: validity in calendar months of the certificate of registration (6 months, "
       "renewable from its current expiry)"},
      {"--referral-reflection-reminder-days", &CommonConfig::referral_reflection_reminder_days,
       "Referrals: days before the end of the reflection period when the parties are reminded"},
      {"--referral-document-reminder-days", &CommonConfig::referral_document_reminder_days,
       "Referrals: days before a residence document expires when the parties are reminded"},
      {"--referral-time-zone", &CommonConfig::referral_time_zone,
       "Referrals: IANA time zone whose days end the procedure's periods (the process refuses "
       "to start when the tz database does not know it: install tzdata)"},
      {"--federation-config", &CommonConfig::federation_config,
       "Federation gateway (concord-gateway): the JSON file naming the partner deployment (trust "
       "domain, address, CA, pinned export key), the allow-list of partner agencies and the "
       "local agencies exported (docs/liaison.md \"Federation with a partner deployment\")"},
      {"--liaison-notifier-dir", &CommonConfig::liaison_notifier_dir,
       "Liaison: directory of the notifier identity admin/concord-liaison as made by "
       "scripts/pki.sh (cert.pem, key.pem, sign.key, seal.key), which announces request changes, "
       "reminders and overdue alerts; empty: they stay queued in Redis until one is configured"},
      {"--liaison-messaging-target", &CommonConfig::liaison_messaging_target,
       "Liaison: host:port of the messaging service the notifier sends through (mutual TLS); "
       "empty: this server's --listen-address"},
      {"--liaison-eio-acknowledgement-days", &CommonConfig::liaison_eio_acknowledgement_days,
       "Liaison: days to acknowledge receipt of a European Investigation Order (Directive "
       "2014/41/EU art. 16: 1 week)"},
      {"--liaison-eio-recognition-days", &CommonConfig::liaison_eio_recognition_days,
       "Liaison: days from receipt to decide on recognising an EIO (art. 12(3): 30)"},
      {"--liaison-eio-recognition-extension-max-days",
       &CommonConfig::liaison_eio_recognition_extension_max_days,
       "Liaison: longest one-time extension of the recognition decision, in days (art. 12(5): 30)"},
      {"--liaison-eio-execution-days", &CommonConfig::liaison_eio_execution_days,
       "Liaison: days from the recognition decision to execute an EIO (art. 12(4): 90)"},
      {"--liaison-spoc-urgent-direct-hours", &CommonConfig::liaison_spoc_urgent_direct_hours,
       "Liaison: hours to answer an urgent request on directly accessible data (Directive "
       "2023/977: 8)"},
      {"--liaison-spoc-urgent-indirect-days", &CommonConfig::liaison_spoc_urgent_indirect_days,
       "Liaison: days to answer an urgent request on indirectly accessible data (2023/977: 3)"},
      {"--liaison-spoc-standard-days", &CommonConfig::liaison_spoc_standard_days,
       "Liaison: days to answer any other request between single points of contact (2023/977: 7)"},
      {"--liaison-production-days", &CommonConfig::liaison_production_days,
       "Liaison: days for a provider to answer a production order (Regulation 2023/1543: 10)"},
      {"--liaison-production-emergency-hours", &CommonConfig::liaison_production_emergency_hours,
       "Liaison: hours for a provider to answer an emergency production order (2023/1543: 8)"},
      {"--liaison-preservation-days", &CommonConfig::liaison_preservation_days,
       "Liaison: days a preservation order holds (2023/1543 art. 11(1): 60)"},
      {"--liaison-preservation-extension-max-days",
       &CommonConfig::liaison_preservation_extension_max_days,
       "Liaison: longest one-time extension of a preservation order, in days (art. 11(1): 30)"},
      {"--liaison-reminder-lead-hours", &CommonConfig::liaison_reminder_lead_hours,
       "Liaison: hours before a clock counted in days is due when the parties are reminded"},
      {"--liaison-short-reminder-lead-hours", &CommonConfig::liaison_short_reminder_lead_hours,
       "Liaison: hours before a clock counted in hours is due when the parties are reminded"},
  };
  return *kDefs;
}

std::string EnvName(std::string_view flag) {
  std::string env = "CONCORD_";
  for (char c : flag.substr(flag.find_first_not_of('-'))) {
    env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

std::string ValueText(const CommonConfig& cfg, const OptionDef& def) {
  struct Render {
    const CommonConfig& cfg;
    std::string operator()(std::string CommonConfig::*m) const { return cfg.*m; }
    std::string operator()(int CommonConfig::*m) const { return std::to_string(cfg.*m); }
  };
  return std::visit(Render{cfg}, def.member);
}

}  // namespace internal

namespace {

struct HostPort {
  std::string host;
  int port = -1;
};

// "host:port" or "[v6]:port" -> HostPort; on failure sets `problem` (no secret involved).
bool ParseHostPort(const std::string& text, HostPort& out, std::string& problem) {
  const std::string expect = "must be host:port with a port in 0..65535, got \"" + text + "\"";
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    problem = expect;
    return false;
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos || host.empty()) {
      problem = "IPv6 address in brackets is malformed, got \"" + text + "\"";
      return false;
    }
  } else if (host.find(':') != std::string::npos) {
    problem = "IPv6 addresses need brackets, e.g. [::1]:7443, got \"" + text + "\"";
    return false;
  } else if (host.empty()) {
    problem = "host is empty (use 0.0.0.0 for all interfaces), got \"" + text + "\"";
    return false;
  } else if (host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789.-_") != std::string::npos) {
    problem =
        "host contains characters not allowed in a host name or IP address, got \"" + text + "\"";
    return false;
  }
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    problem = expect;
    return false;
  }
  out.host = std::move(host);
  out.port = port;
  return true;
}

bool IsNumericHost(const std::string& host) {
  return host == "localhost" || host.find_first_not_of("0123456789.") == std::string::npos ||
         host.find(':') != std::string::npos;
}

void CheckFile(FieldErrors& errors, std::string_view flag, const std::string& path, bool required) {
  if (path.empty()) {
    if (required) errors.Add(std::string(flag), "is required");
    return;
  }
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    errors.Add(std::string(flag), "file not found: \"" + path + "\"");
  } else if (std::filesystem::is_directory(status)) {
    errors.Add(std::string(flag), "is a directory, expected a file: \"" + path + "\"");
  } else if (::access(path.c_str(), R_OK) != 0) {
    errors.Add(std::string(flag), "file is not readable by this process: \"" + path + "\"");
  }
}

// SPIFFE trust domain: lower-case letters, digits, '.', '-', '_' (spiffe-id.md §2.1).
void CheckTrustDomain(FieldErrors& errors, const std::string& td) {
  if (td.empty()) {
    errors.Add("--trust-domain", "is required");
  } else if (td.size() > 255) {
    errors.Add("--trust-domain", "must be at most 255 characters");
  } else if (td.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") != std::string::npos) {
    errors.Add("--trust-domain",
               "may contain only lower-case letters, digits, '.', '-' and '_' (SPIFFE trust "
               "domain, no scheme or path), got \"" +
                   td + "\"");
  }
}

}  // namespace

const std::vector<OptionInfo>& CommonOptions() {
  static const auto* const kInfos = [] {
    auto* infos = new std::vector<OptionInfo>;
    const CommonConfig defaults;
    for (const internal::OptionDef& def : internal::OptionDefs()) {
      infos->push_back({std::string(def.flag), internal::EnvName(def.flag),
                        internal::ValueText(defaults, def), std::string(def.description)});
    }
    return infos;
  }();
  return *kInfos;
}

Status Validate(const CommonConfig& cfg) {
  FieldErrors errors;

  std::map<int, std::string> used_ports;  // port -> flag, to catch two listeners on one port
  const std::pair<const char*, const std::string*> addresses[] = {
      {"--listen-address", &cfg.listen_address},
      {"--health-address", &cfg.health_address},
      {"--metrics-address", &cfg.metrics_address}};
  for (const auto& [flag, value] : addresses) {
    HostPort hp;
    std::string problem;
    if (!ParseHostPort(*value, hp, problem)) {
      errors.Add(flag, problem);
      continue;
    }
    if (std::string_view(flag) == "--metrics-address" && !IsNumericHost(hp.host)) {
      errors.Add(flag, "host must be an IP address or localhost (names are not resolved), got \"" +
                           *value + "\"");
    }
    if (hp.port != 0) {
      const auto [it, inserted] = used_ports.emplace(hp.port, flag);
      if (!inserted) {
        errors.Add(flag, "port " + std::to_string(hp.port) + " is already used by " + it->second);
      }
    }
  }

  CheckFile(errors, "--tls-cert", cfg.tls_cert, /*required=*/true);
  CheckFile(errors, "--tls-key", cfg.tls_key, /*required=*/true);
  CheckFile(errors, "--tls-ca", cfg.tls_ca, /*required=*/true);
  if (cfg.tls_refresh_seconds <= 0) {
    errors.Add("--tls-refresh-seconds",
               "must be > 0, got " + std::to_string(cfg.tls_refresh_seconds));
  }
  CheckTrustDomain(errors, cfg.trust_domain);

  if (cfg.redis_host.empty()) {
    errors.Add("--redis-host", "is required");
  } else if (cfg.redis_host.find_first_of(" \t/:") != std::string::npos &&
             cfg.redis_host.front() != '[') {
    errors.Add("--redis-host", "must be a host name or IP address without port or scheme, got \"" +
                                   cfg.redis_host + "\"");
  }
  if (cfg.redis_port < 1 || cfg.redis_port > 65535) {
    errors.Add("--redis-port", "must be in 1..65535, got " + std::to_string(cfg.redis_port));
  }
  if (cfg.redis_pool_size < 1 || cfg.redis_pool_size > 64) {
    errors.Add("--redis-pool-size", "must be in 1..64, got " + std::to_string(cfg.redis_pool_size));
  }
  if (cfg.redis_connect_timeout_ms <= 0) {
    errors.Add("--redis-connect-timeout-ms",
               "must be > 0, got " + std::to_string(cfg.redis_connect_timeout_ms));
  }
  if (cfg.redis_command_timeout_ms <= 0) {
    errors.Add("--redis-command-timeout-ms",
               "must be > 0, got " + std::to_string(cfg.redis_command_timeout_ms));
  }
  if (cfg.drain_timeout_seconds < 0) {
    errors.Add("--drain-timeout-seconds",
               "must be >= 0, got " + std::to_string(cfg.drain_timeout_seconds));
  }
  // Security: a connection must not outlive its certificate's revocation or rotation forever,
  // and the grace must be finite (gRPC's own default grace is infinite).
  if (cfg.max_connection_age_seconds < 1 || cfg.max_connection_age_seconds > 604800) {
    errors.Add("--max-connection-age-seconds", "must be in 1..604800 (7 days), got " +
                                                   std::to_string(cfg.max_connection_age_seconds));
  }
  if (cfg.max_connection_age_grace_seconds < 1 || cfg.max_connection_age_grace_seconds > 86400) {
    errors.Add(
        "--max-connection-age-grace-seconds",
        "must be in 1..86400 (1 day), got " + std::to_string(cfg.max_connection_age_grace_seconds));
  }
  if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" &&
      cfg.log_level != "error") {
    errors.Add("--log-level",
               "must be one of debug, info, warn, error, got \"" + cfg.log_level + "\"");
  }
  if (cfg.ed25519_backend != "sodium" && cfg.ed25519_backend != "openssl") {
    errors.Add("--ed25519-backend",
               "must be one of sodium, openssl, got \"" + cfg.ed25519_backend + "\"");
  }
  if (cfg.redis_memory_watermark_percent < 0 || cfg.redis_memory_watermark_percent > 99) {
    errors.Add("--redis-memory-watermark-percent",
               "must be 0..99 (0: never refuse), got " +
                   std::to_string(cfg.redis_memory_watermark_percent));
  }
  if (cfg.redis_memory_poll_ms < 100 || cfg.redis_memory_poll_ms > 60000) {
    errors.Add("--redis-memory-poll-ms",
               "must be 100..60000, got " + std::to_string(cfg.redis_memory_poll_ms));
  }
  const std::pair<std::string_view, int> durations[] = {
      {"--referral-centre-response-hours", cfg.referral_centre_response_hours},
      {"--referral-reflection-days", cfg.referral_reflection_days},
      {"--referral-reflection-reminder-days", cfg.referral_reflection_reminder_days},
      {"--referral-document-reminder-days", cfg.referral_document_reminder_days}};
  for (const auto& [flag, value] : durations) {
    if (value <= 0 || value > 3650) {
      errors.Add(std::string(flag), "must be in 1..3650, got " + std::to_string(value));
    }
  }
  if (cfg.referral_reflection_reminder_days >= cfg.referral_reflection_days) {
    errors.Add("--referral-reflection-reminder-days",
               "must be shorter than --referral-reflection-days");
  }
  for (const auto& [flag, months] :
       {std::pair<std::string_view, int>{"--referral-attestation-months",
                                         cfg.referral_attestation_months},
        std::pair<std::string_view, int>{"--referral-certificate-months",
                                         cfg.referral_certificate_months}}) {
    if (months <= 0 || months > 120) {
      errors.Add(std::string(flag), "must be in 1..120, got " + std::to_string(months));
    }
  }
  // A month has at least 28 days.
  if (cfg.referral_document_reminder_days >= 28 * cfg.referral_attestation_months) {
    errors.Add("--referral-document-reminder-days",
               "must be shorter than --referral-attestation-months");
  }
  for (const RemovedOption& removed : RemovedOptions()) {
    auto it = cfg.removed_options.find(std::string(removed.flag));
    if (it == cfg.removed_options.end() || it->second.empty()) continue;
    errors.Add(std::string(removed.flag), "was replaced by " + std::string(removed.replacement) +
                                              " (" + std::string(removed.why) +
                                              "); also environment " +
                                              internal::EnvName(removed.flag));
  }
  for (const std::string& entry : BootstrapDirectoryAdmins(cfg)) {
    const std::string_view id = std::string_view(entry).substr(std::min<size_t>(entry.size(), 6));
    const bool id_ok =
        !id.empty() && id.size() <= 63 &&
        std::all_of(
            id.begin(), id.end(),
            [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }) &&
        id.front() != '-';
    if (!entry.starts_with("admin/") || !id_ok) {
      errors.Add("--bootstrap-directory-admins",
                 "entries must be admin identities admin/<id>, got \"" + entry + "\"");
    } else if (id.starts_with("concord-")) {
      errors.Add("--bootstrap-directory-admins",
                 "Concord's service identities (admin/concord-*) only send notifications, got \"" +
                     entry + "\"");
    }
  }
  if (!cfg.referrals_notifier_dir.empty() &&
      !std::filesystem::is_directory(cfg.referrals_notifier_dir)) {
    errors.Add("--referrals-notifier-dir", "is not a directory: " + cfg.referrals_notifier_dir);
  }
  if (!cfg.directory_notifier_dir.empty() &&
      !std::filesystem::is_directory(cfg.directory_notifier_dir)) {
    errors.Add("--directory-notifier-dir", "is not a directory: " + cfg.directory_notifier_dir);
  }
  if (!cfg.liaison_notifier_dir.empty() &&
      !std::filesystem::is_directory(cfg.liaison_notifier_dir)) {
    errors.Add("--liaison-notifier-dir", "is not a directory: " + cfg.liaison_notifier_dir);
  }
  if (!cfg.referrals_notifier_dir.empty() && cfg.notifier_secret_file.empty()) {
    errors.Add("--notifier-secret-file",
               "is required when --referrals-notifier-dir is set: the notifier keys its message "
               "ids with it (openssl rand -hex 32 > notifier.secret)");
  } else if (!cfg.directory_notifier_dir.empty() && cfg.notifier_secret_file.empty()) {
    errors.Add("--notifier-secret-file",
               "is required when --directory-notifier-dir is set: the notifier keys its message "
               "ids with it (openssl rand -hex 32 > notifier.secret)");
  } else if (!cfg.liaison_notifier_dir.empty() && cfg.notifier_secret_file.empty()) {
    errors.Add("--notifier-secret-file",
               "is required when --liaison-notifier-dir is set: the notifier keys its message "
               "ids with it (openssl rand -hex 32 > notifier.secret)");
  } else {
    CheckFile(errors, "--notifier-secret-file", cfg.notifier_secret_file, /*required=*/false);
  }
  CheckFile(errors, "--audit-key-file", cfg.audit_key_file, /*required=*/false);
  CheckFile(errors, "--audit-signing-key-file", cfg.audit_signing_key_file, /*required=*/false);
  if (cfg.audit_checkpoint_interval_seconds < 1 || cfg.audit_checkpoint_interval_seconds > 86400) {
    errors.Add("--audit-checkpoint-interval-seconds",
               "must be in 1..86400, got " + std::to_string(cfg.audit_checkpoint_interval_seconds));
  }
  if (!cfg.audit_checkpoint_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(cfg.audit_checkpoint_dir, ec)) {
      errors.Add("--audit-checkpoint-dir",
                 "is not a directory: \"" + cfg.audit_checkpoint_dir + "\"");
    } else if (::access(cfg.audit_checkpoint_dir.c_str(), W_OK | X_OK) != 0) {
      errors.Add("--audit-checkpoint-dir",
                 "is not writable by this process: \"" + cfg.audit_checkpoint_dir + "\"");
    }
  }

  return errors.ToStatus("invalid configuration");
}

std::vector<std::string> BootstrapDirectoryAdmins(const CommonConfig& cfg) {
  std::vector<std::string> out;
  std::string_view rest = cfg.bootstrap_directory_admins;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (!entry.empty()) out.emplace_back(entry);
  }
  return out;
}

namespace {

struct CredentialMembers {
  std::string_view workload;
  std::string CommonConfig::*user;
  std::string CommonConfig::*password;
  std::string CommonConfig::*password_file;
};

// The one table of workload credentials (add a row to add a workload; see config.h).
constexpr CredentialMembers kCredentials[] = {
    {"directory", &CommonConfig::redis_directory_user, &CommonConfig::redis_directory_password,
     &CommonConfig::redis_directory_password_file},
    {"audit", &CommonConfig::redis_audit_user, &CommonConfig::redis_audit_password,
     &CommonConfig::redis_audit_password_file},
    {"messaging", &CommonConfig::redis_messaging_user, &CommonConfig::redis_messaging_password,
     &CommonConfig::redis_messaging_password_file},
    {"referrals", &CommonConfig::redis_referrals_user, &CommonConfig::redis_referrals_password,
     &CommonConfig::redis_referrals_password_file},
    {"guidelines", &CommonConfig::redis_guidelines_user, &CommonConfig::redis_guidelines_password,
     &CommonConfig::redis_guidelines_password_file},
    {"liaison", &CommonConfig::redis_liaison_user, &CommonConfig::redis_liaison_password,
     &CommonConfig::redis_liaison_password_file},
    {"gateway", &CommonConfig::redis_gateway_user, &CommonConfig::redis_gateway_password,
     &CommonConfig::redis_gateway_password_file},
};

const CredentialMembers* FindCredential(std::string_view workload) {
  for (const CredentialMembers& c : kCredentials) {
    if (c.workload == workload) return &c;
  }
  return nullptr;
}

// Redis ACL user names: printable ASCII without spaces (Redis forbids spaces; keep it simple).
bool ValidAclUser(const std::string& user) {
  if (user.empty() || user.size() > 128) return false;
  for (char c : user) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// Adds the problems of one workload's credential to `errors`; when `password` is given and
// there is none, fills it (reading the file).
void CheckCredential(FieldErrors& errors, const CommonConfig& cfg, std::string_view workload,
                     std::string* password) {
  const auto [user_flag, file_flag] = RedisCredentialFlags(workload);
  const CredentialMembers* c = FindCredential(workload);
  if (c == nullptr) {
    errors.Add(user_flag, "no Redis ACL user is defined for the module \"" + std::string(workload) +
                              "\" (common/config RedisWorkloads())");
    return;
  }
  const std::string password_flag = "--redis-" + std::string(workload) + "-password";
  if (!ValidAclUser(cfg.*(c->user))) {
    errors.Add(user_flag, "must be a Redis ACL user name (printable, no spaces)");
  }
  const std::string& inline_password = cfg.*(c->password);
  const std::string& file = cfg.*(c->password_file);
  if (!inline_password.empty() && !file.empty()) {
    errors.Add(file_flag, "give " + password_flag + " or " + file_flag + ", not both");
    return;
  }
  if (!inline_password.empty()) {
    if (password != nullptr) *password = inline_password;
    return;
  }
  if (file.empty()) {
    errors.Add(file_flag, "is required (or " + password_flag + " / " +
                              internal::EnvName(password_flag) +
                              "): the password of Redis ACL user \"" + cfg.*(c->user) +
                              "\" for the " + std::string(workload) + " module");
    return;
  }
  const size_t before = errors.violations().size();
  CheckFile(errors, file_flag, file, /*required=*/true);
  if (errors.violations().size() != before) return;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  if (line.empty()) {
    errors.Add(file_flag, "the file is empty: \"" + file + "\"");
    return;
  }
  if (password != nullptr) *password = std::move(line);
}

}  // namespace

const std::vector<std::string>& RedisWorkloads() {
  static const auto* const kWorkloads = [] {
    auto* w = new std::vector<std::string>;
    for (const CredentialMembers& c : kCredentials) w->emplace_back(c.workload);
    return w;
  }();
  return *kWorkloads;
}

std::pair<std::string, std::string> RedisCredentialFlags(std::string_view workload) {
  const std::string w(workload);
  return {"--redis-" + w + "-user", "--redis-" + w + "-password-file"};
}

Status ValidateRedisCredentials(const CommonConfig& cfg,
                                const std::vector<std::string>& workloads) {
  FieldErrors errors;
  for (const std::string& w : workloads) CheckCredential(errors, cfg, w, nullptr);
  return errors.ToStatus("invalid configuration");
}

StatusOr<RedisCredential> RedisCredentialFor(const CommonConfig& cfg, std::string_view workload) {
  FieldErrors errors;
  RedisCredential out;
  CheckCredential(errors, cfg, workload, &out.password);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid configuration"));
  out.user = cfg.*(FindCredential(workload)->user);
  return out;
}

const std::vector<RemovedOption>& RemovedOptions() {
  static const auto* const kRemoved = new std::vector<RemovedOption>{
      {"--referral-attestation-days", "--referral-attestation-months",
       "the attestation of registration lasts calendar months, ending at the end of the last "
       "day in Europe/Brussels, not N x 24 hours"},
      {"--referral-certificate-days", "--referral-certificate-months",
       "the certificate of registration lasts calendar months"},
      {"--referral-minor-reflection-days", "--referral-attestation-months",
       "an unaccompanied minor receives the 3-month attestation directly, without a reflection "
       "period"},
  };
  return *kRemoved;
}

std::string ConfigReferenceMarkdown() {
  auto cell = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '|') out += "\\";
      out.push_back(c);
    }
    return out;
  };
  std::string md =
      "| Flag | Environment variable | Default | Description |\n"
      "|---|---|---|---|\n";
  for (const OptionInfo& o : CommonOptions()) {
    md += "| `" + o.flag + "` | `" + o.env + "` | " +
          (o.default_value.empty() ? std::string("(none)") : "`" + o.default_value + "`") + " | " +
          cell(o.description) + " |\n";
  }
  return md;
}

}  // namespace concord::config
