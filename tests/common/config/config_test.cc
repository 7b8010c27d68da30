// File: tests/common/config/config_test.cc
#include "common/config/config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace concord::config {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// A config that passes validation: defaults plus TLS files that exist.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("concord_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    for (const char* name : {"tls.crt", "tls.key", "ca.crt"}) {
      std::ofstream(dir_ / name) << "-----BEGIN PLACEHOLDER-----\n";
    }
    cfg_.tls_cert = (dir_ / "tls.crt").string();
    cfg_.tls_key = (dir_ / "tls.key").string();
    cfg_.tls_ca = (dir_ / "ca.crt").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The description of the single violation of `field`; fails the test if not exactly one.
  static std::string ViolationOf(const Status& st, const std::string& field) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    std::string found;
    int n = 0;
    for (const FieldViolation& v : FieldViolationsOf(st)) {
      if (v.field == field) {
        found = v.description;
        ++n;
      }
    }
    EXPECT_EQ(n, 1) << "violations of " << field << " in " << st;
    return found;
  }

  std::filesystem::path dir_;
  CommonConfig cfg_;
};

TEST_F(ConfigTest, DefaultsWithTlsFilesAreValid) {
  EXPECT_TRUE(Validate(cfg_).ok()) << Validate(cfg_);
}

TEST_F(ConfigTest, TlsFilesAreRequired) {
  CommonConfig cfg;
  const Status st = Validate(cfg);
  EXPECT_EQ(ViolationOf(st, "--tls-cert"), "is required");
  EXPECT_EQ(ViolationOf(st, "--tls-key"), "is required");
  EXPECT_EQ(ViolationOf(st, "--tls-ca"), "is required");
}

TEST_F(ConfigTest, BadPortNamesFlagAndValue) {
  cfg_.listen_address = "127.0.0.1:70000";
  cfg_.health_address = "127.0.0.1";
  cfg_.metrics_address = "127.0.0.1:http";
  const Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--listen-address"),
            "must be host:port with a port in 0..65535, got \"127.0.0.1:70000\"");
  EXPECT_THAT(ViolationOf(st, "--health-address"), HasSubstr("\"127.0.0.1\""));
  EXPECT_THAT(ViolationOf(st, "--metrics-address"), HasSubstr("0..65535"));
  EXPECT_THAT(FieldViolationsOf(st), SizeIs(3));
}

TEST_F(ConfigTest, AddressFormsAndPortClashes) {
  cfg_.listen_address = "[::]:7443";
  cfg_.health_address = "0.0.0.0:0";
  cfg_.metrics_address = "localhost:9464";
  EXPECT_TRUE(Validate(cfg_).ok()) << Validate(cfg_);

  cfg_.health_address = "0.0.0.0:7443";
  cfg_.metrics_address = "metrics.example:9464";
  const Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--health-address"), "port 7443 is already used by --listen-address");
  EXPECT_THAT(ViolationOf(st, "--metrics-address"), HasSubstr("IP address or localhost"));
  cfg_.listen_address = "::1:7443";
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--listen-address"), HasSubstr("need brackets"));
}

TEST_F(ConfigTest, MissingAndUnreadableFiles) {
  cfg_.tls_cert = (dir_ / "nope.crt").string();
  cfg_.audit_key_file = dir_.string();  // a directory
  const Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--tls-cert"), "file not found: \"" + cfg_.tls_cert + "\"");
  EXPECT_THAT(ViolationOf(st, "--audit-key-file"), HasSubstr("is a directory"));
  EXPECT_THAT(FieldViolationsOf(st), SizeIs(2));
}

// A notifier keys its message ids with the notifier secret: without it the process does not start.
TEST_F(ConfigTest, ANotifierNeedsTheNotifierSecret) {
  cfg_.referrals_notifier_dir = dir_.string();
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--notifier-secret-file"),
              HasSubstr("is required when --referrals-notifier-dir is set"));
  cfg_.notifier_secret_file = (dir_ / "missing.secret").string();
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--notifier-secret-file"), HasSubstr("file not found"));
  std::ofstream(dir_ / "notifier.secret") << std::string(64, 'a') << "\n";
  cfg_.notifier_secret_file = (dir_ / "notifier.secret").string();
  EXPECT_TRUE(Validate(cfg_).ok()) << Validate(cfg_);
}

TEST_F(ConfigTest, TheDirectoryNotifierNeedsTheNotifierSecretToo) {
  cfg_.directory_notifier_dir = dir_.string();
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--notifier-secret-file"),
              HasSubstr("is required when --directory-notifier-dir is set"));
  std::ofstream(dir_ / "notifier.secret") << std::string(64, 'a') << "\n";
  cfg_.notifier_secret_file = (dir_ / "notifier.secret").string();
  EXPECT_TRUE(Validate(cfg_).ok()) << Validate(cfg_);
  cfg_.directory_notifier_dir = (dir_ / "missing").string();
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--directory-notifier-dir"),
              HasSubstr("is not a directory"));
}

TEST_F(ConfigTest, UnknownLogLevel) {
  cfg_.log_level = "verbose";
  EXPECT_EQ(ViolationOf(Validate(cfg_), "--log-level"),
            "must be one of debug, info, warn, error, got \"verbose\"");
}

TEST_F(ConfigTest, RangesAndTrustDomain) {
  cfg_.redis_pool_size = 0;
  cfg_.redis_connect_timeout_ms = 0;
  cfg_.redis_command_timeout_ms = -5;
  cfg_.tls_refresh_seconds = 0;
  cfg_.redis_port = 0;
  cfg_.drain_timeout_seconds = -1;
  cfg_.trust_domain = "spiffe://Concord.Test";
  const Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--redis-pool-size"), "must be in 1..64, got 0");
  EXPECT_EQ(ViolationOf(st, "--redis-connect-timeout-ms"), "must be > 0, got 0");
  EXPECT_EQ(ViolationOf(st, "--redis-command-timeout-ms"), "must be > 0, got -5");
  EXPECT_EQ(ViolationOf(st, "--tls-refresh-seconds"), "must be > 0, got 0");
  EXPECT_EQ(ViolationOf(st, "--redis-port"), "must be in 1..65535, got 0");
  EXPECT_EQ(ViolationOf(st, "--drain-timeout-seconds"), "must be >= 0, got -1");
  EXPECT_THAT(ViolationOf(st, "--trust-domain"), HasSubstr("lower-case"));
  cfg_ = CommonConfig{};
  SetUp();
  cfg_.redis_pool_size = 65;
  EXPECT_EQ(ViolationOf(Validate(cfg_), "--redis-pool-size"), "must be in 1..64, got 65");
}

// Test that connections get a maximum age (default 1 h) with a finite grace, both bounded.
TEST_F(ConfigTest, MaxConnectionAgeAndGrace) {
  EXPECT_EQ(CommonConfig{}.max_connection_age_seconds, 3600);
  EXPECT_EQ(CommonConfig{}.max_connection_age_grace_seconds, 30);
  cfg_.max_connection_age_seconds = 0;
  cfg_.max_connection_age_grace_seconds = 0;
  Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--max-connection-age-seconds"),
            "must be in 1..604800 (7 days), got 0");
  EXPECT_EQ(ViolationOf(st, "--max-connection-age-grace-seconds"),
            "must be in 1..86400 (1 day), got 0");
  cfg_.max_connection_age_seconds = 604801;
  cfg_.max_connection_age_grace_seconds = 86401;
  st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--max-connection-age-seconds"),
            "must be in 1..604800 (7 days), got 604801");
  EXPECT_EQ(ViolationOf(st, "--max-connection-age-grace-seconds"),
            "must be in 1..86400 (1 day), got 86401");

  ::setenv("CONCORD_MAX_CONNECTION_AGE_GRACE_SECONDS", "5", 1);
  CommonConfig cfg;
  CLI::App app{"test"};
  AddCommonFlags(app, cfg);
  const char* argv[] = {"test", "--max-connection-age-seconds", "600"};
  EXPECT_NO_THROW(app.parse(3, argv));
  ::unsetenv("CONCORD_MAX_CONNECTION_AGE_GRACE_SECONDS");
  EXPECT_EQ(cfg.max_connection_age_seconds, 600);
  EXPECT_EQ(cfg.max_connection_age_grace_seconds, 5);
  EXPECT_THAT(app.help(), HasSubstr("CONCORD_MAX_CONNECTION_AGE_SECONDS"));
}

// Test that every hosted module needs its own Redis credential, named by its flag, and that the
// credential of a module the binary does not host is not required.
// Test the bounds settings: the watermark 0..99 % and its poll 100..60000 ms, and --quotas
// from the environment (its syntax is the host's to check: common/quota).
TEST_F(ConfigTest, RedisMemoryWatermarkAndQuotas) {
  EXPECT_EQ(CommonConfig{}.redis_memory_watermark_percent, 85);
  EXPECT_EQ(CommonConfig{}.redis_memory_poll_ms, 1000);
  cfg_.redis_memory_watermark_percent = 100;
  cfg_.redis_memory_poll_ms = 99;
  Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--redis-memory-watermark-percent"),
            "must be 0..99 (0: never refuse), got 100");
  EXPECT_EQ(ViolationOf(st, "--redis-memory-poll-ms"), "must be 100..60000, got 99");
  cfg_.redis_memory_watermark_percent = 0;
  cfg_.redis_memory_poll_ms = 60000;
  EXPECT_TRUE(Validate(cfg_).ok());

  ::setenv("CONCORD_QUOTAS", "platform.send=500/0.5", 1);
  CommonConfig cfg;
  CLI::App app{"test"};
  AddCommonFlags(app, cfg);
  const char* argv[] = {"test", "--redis-memory-watermark-percent", "90"};
  EXPECT_NO_THROW(app.parse(3, argv));
  ::unsetenv("CONCORD_QUOTAS");
  EXPECT_EQ(cfg.quotas, "platform.send=500/0.5");
  EXPECT_EQ(cfg.redis_memory_watermark_percent, 90);
}

TEST_F(ConfigTest, EachHostedModuleNeedsItsRedisCredential) {
  EXPECT_EQ(RedisWorkloads(),
            (std::vector<std::string>{"directory", "audit", "messaging", "referrals", "guidelines",
                                      "liaison", "gateway"}));
  const Status missing = ValidateRedisCredentials(cfg_, {"referrals", "audit"});
  EXPECT_THAT(ViolationOf(missing, "--redis-referrals-password-file"),
              AllOf(HasSubstr("is required"), HasSubstr("CONCORD_REDIS_REFERRALS_PASSWORD"),
                    HasSubstr("concord-referrals")));
  EXPECT_THAT(ViolationOf(missing, "--redis-audit-password-file"), HasSubstr("is required"));
  EXPECT_TRUE(ValidateRedisCredentials(cfg_, {}).ok());

  cfg_.redis_referrals_password = "from-env";
  auto inline_password = RedisCredentialFor(cfg_, "referrals");
  ASSERT_TRUE(inline_password.ok()) << inline_password.status();
  EXPECT_EQ(inline_password->user, "concord-referrals");
  EXPECT_EQ(inline_password->password, "from-env");

  // From a file (first line, trailing whitespace dropped); both given is ambiguous.
  std::ofstream(dir_ / "audit.pw") << "s3cret-from-file \n";
  cfg_.redis_audit_password_file = (dir_ / "audit.pw").string();
  cfg_.redis_audit_user = "concord-audit-blue";
  auto from_file = RedisCredentialFor(cfg_, "audit");
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->user, "concord-audit-blue");
  EXPECT_EQ(from_file->password, "s3cret-from-file");
  cfg_.redis_audit_password = "also";
  EXPECT_THAT(ViolationOf(ValidateRedisCredentials(cfg_, {"audit"}), "--redis-audit-password-file"),
              HasSubstr("not both"));
  cfg_.redis_audit_password.clear();

  std::ofstream(dir_ / "empty.pw") << "\n";
  cfg_.redis_audit_password_file = (dir_ / "empty.pw").string();
  EXPECT_THAT(ViolationOf(ValidateRedisCredentials(cfg_, {"audit"}), "--redis-audit-password-file"),
              HasSubstr("empty"));
  cfg_.redis_audit_password_file = (dir_ / "none.pw").string();
  EXPECT_THAT(ViolationOf(ValidateRedisCredentials(cfg_, {"audit"}), "--redis-audit-password-file"),
              HasSubstr("file not found"));
  cfg_.redis_audit_password_file = (dir_ / "audit.pw").string();
  cfg_.redis_audit_user = "has space";
  EXPECT_THAT(ViolationOf(ValidateRedisCredentials(cfg_, {"audit"}), "--redis-audit-user"),
              HasSubstr("ACL user name"));
  EXPECT_THAT(
      ViolationOf(ValidateRedisCredentials(cfg_, {"liaison"}), "--redis-liaison-password-file"),
      HasSubstr("is required"));
  EXPECT_THAT(
      ViolationOf(ValidateRedisCredentials(cfg_, {"federation"}), "--redis-federation-user"),
      HasSubstr("no Redis ACL user is defined"));
}

TEST_F(ConfigTest, SecretsNeverAppearInMessages) {
  cfg_.redis_messaging_password = "hunter2-secret";
  cfg_.redis_messaging_password_file = (dir_ / "tls.key").string();
  cfg_.redis_port = -1;
  for (const Status& st : {Validate(cfg_), ValidateRedisCredentials(cfg_, {"messaging"})}) {
    EXPECT_THAT(std::string(st.message()), Not(HasSubstr("hunter2")));
    for (const FieldViolation& v : FieldViolationsOf(st)) {
      EXPECT_THAT(v.description, Not(HasSubstr("hunter2")));
    }
  }
}

TEST_F(ConfigTest, AuditCheckpointSettings) {
  cfg_.audit_checkpoint_interval_seconds = 0;
  cfg_.audit_checkpoint_dir = (dir_ / "missing").string();
  const Status st = Validate(cfg_);
  EXPECT_EQ(ViolationOf(st, "--audit-checkpoint-interval-seconds"), "must be in 1..86400, got 0");
  EXPECT_THAT(ViolationOf(st, "--audit-checkpoint-dir"), HasSubstr("is not a directory"));
  cfg_.audit_checkpoint_interval_seconds = 60;
  cfg_.audit_checkpoint_dir = dir_.string();
  EXPECT_TRUE(Validate(cfg_).ok());
}

// Test that every option is a flag and an environment variable, and the flag wins.
TEST_F(ConfigTest, FlagsAndEnvironmentVariables) {
  ::setenv("CONCORD_REDIS_PORT", "6380", 1);
  ::setenv("CONCORD_TLS_CERT", "/from/env.crt", 1);
  ::setenv("CONCORD_LOG_LEVEL", "debug", 1);
  CommonConfig cfg;
  CLI::App app{"test"};
  AddCommonFlags(app, cfg);
  const char* argv[] = {
      "test", "--log-level", "warn", "--redis-pool-size", "8", "--metrics-address=0.0.0.0:9000"};
  EXPECT_NO_THROW(app.parse(6, argv));
  ::unsetenv("CONCORD_REDIS_PORT");
  ::unsetenv("CONCORD_TLS_CERT");
  ::unsetenv("CONCORD_LOG_LEVEL");
  EXPECT_EQ(cfg.redis_port, 6380);
  EXPECT_EQ(cfg.tls_cert, "/from/env.crt");
  EXPECT_EQ(cfg.log_level, "warn");  // flag beats env
  EXPECT_EQ(cfg.redis_pool_size, 8);
  EXPECT_EQ(cfg.metrics_address, "0.0.0.0:9000");
  EXPECT_EQ(cfg.redis_host, "127.0.0.1");  // default kept

  const std::string help = app.help();
  for (const OptionInfo& o : CommonOptions()) {
    EXPECT_THAT(help, HasSubstr(o.flag));
    EXPECT_THAT(help, HasSubstr(o.env));
    EXPECT_EQ(o.env.rfind("CONCORD_", 0), 0u) << o.env;
    EXPECT_THAT(o.description, Not(IsEmpty()));
  }
  EXPECT_THAT(help, HasSubstr("CONCORD_REDIS_PORT"));
  EXPECT_THAT(help, HasSubstr("7443"));  // defaults shown
  EXPECT_THAT(CommonOptions(), Contains(AllOf(Field(&OptionInfo::flag, "--tls-cert"),
                                              Field(&OptionInfo::env, "CONCORD_TLS_CERT"))));
}

// The day-based referral keys were replaced by calendar months: any value given, by flag or by
// environment variable, is refused at start with a message naming the new key.
TEST_F(ConfigTest, ReplacedDayKeysAreRefusedNamingTheNewKey) {
  ::setenv("CONCORD_REFERRAL_CERTIFICATE_DAYS", "180", 1);
  CommonConfig cfg = cfg_;
  CLI::App app{"test"};
  AddCommonFlags(app, cfg);
  const char* argv[] = {"test", "--referral-attestation-days", "90",
                        "--referral-minor-reflection-days=90"};
  EXPECT_NO_THROW(app.parse(4, argv));
  ::unsetenv("CONCORD_REFERRAL_CERTIFICATE_DAYS");
  const Status st = Validate(cfg);
  EXPECT_THAT(ViolationOf(st, "--referral-attestation-days"),
              HasSubstr("replaced by --referral-attestation-months"));
  EXPECT_THAT(ViolationOf(st, "--referral-certificate-days"),
              HasSubstr("replaced by --referral-certificate-months"));
  EXPECT_THAT(ViolationOf(st, "--referral-minor-reflection-days"),
              HasSubstr("replaced by --referral-attestation-months"));
  EXPECT_THAT(app.help(), Not(HasSubstr("--referral-attestation-days")));  // hidden
}

TEST_F(ConfigTest, ReferralPeriodsInMonthsAndTheirZone) {
  EXPECT_EQ(cfg_.referral_attestation_months, 3);
  EXPECT_EQ(cfg_.referral_certificate_months, 6);
  EXPECT_EQ(cfg_.referral_time_zone, "Europe/Brussels");
  CommonConfig cfg = cfg_;
  cfg.referral_certificate_months = 0;
  cfg.referral_attestation_months = 1;
  cfg.referral_document_reminder_days = 28;  // a month has at least 28 days
  const Status st = Validate(cfg);
  EXPECT_THAT(ViolationOf(st, "--referral-certificate-months"), HasSubstr("1..120"));
  EXPECT_THAT(ViolationOf(st, "--referral-document-reminder-days"),
              HasSubstr("--referral-attestation-months"));
}

TEST_F(ConfigTest, RejectsMalformedNumbers) {
  CommonConfig cfg;
  CLI::App app{"test"};
  AddCommonFlags(app, cfg);
  const char* argv[] = {"test", "--redis-port", "many"};
  EXPECT_THROW(app.parse(3, argv), CLI::ParseError);
}

// Test that docs/operations.md carries the reference table generated from the definitions.
TEST_F(ConfigTest, BootstrapDirectoryAdminsAreAdminIdentitiesButNeverServiceOnes) {
  cfg_.bootstrap_directory_admins = " admin/ops , admin/night-desk,";
  EXPECT_TRUE(Validate(cfg_).ok()) << Validate(cfg_);
  EXPECT_EQ(BootstrapDirectoryAdmins(cfg_),
            (std::vector<std::string>{"admin/ops", "admin/night-desk"}));
  cfg_.bootstrap_directory_admins = "police/pz-a";
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--bootstrap-directory-admins"),
              HasSubstr("admin identities"));
  cfg_.bootstrap_directory_admins = "admin/Ops";
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--bootstrap-directory-admins"), HasSubstr("admin/Ops"));
  cfg_.bootstrap_directory_admins = "admin/concord-referrals";
  EXPECT_THAT(ViolationOf(Validate(cfg_), "--bootstrap-directory-admins"),
              HasSubstr("only send notifications"));
}

TEST(ConfigReference, OperationsDocListsEveryOption) {
  const std::filesystem::path doc =
      std::filesystem::path(CONCORD_SOURCE_DIR) / "docs/operations.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << "cannot read " << doc;
  std::stringstream text;
  text << in.rdbuf();
  const std::string md = text.str();
  for (const OptionInfo& o : CommonOptions()) {
    EXPECT_NE(md.find("`" + o.flag + "`"), std::string::npos) << o.flag << " missing from " << doc;
    EXPECT_NE(md.find("`" + o.env + "`"), std::string::npos) << o.env << " missing from " << doc;
  }
  // The whole generated table, so defaults and descriptions cannot drift either.
  EXPECT_NE(md.find(ConfigReferenceMarkdown()), std::string::npos)
      << doc << " is stale; replace the table between the config-reference markers with:\n"
      << ConfigReferenceMarkdown();
}

}  // namespace
}  // namespace concord::config
