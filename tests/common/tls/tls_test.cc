// mTLS credentials (common/tls) against a real ServerRunner: who is refused and how, TLS
// versions and suites (checked with the openssl s_client CLI as an independent client), server
// host-name verification and certificate rotation.
#include "common/tls/tls.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "concord/testing/v1/echo.grpc.pb.h"
#include "tests/support/echo_service.h"
#include "tests/support/test_pki.h"

namespace concord {
namespace {

using ::concord::testing::CertFiles;
using ::concord::testing::EchoService;
using ::concord::testing::TestPki;
using ::concord::testing::v1::Echo;
using ::concord::testing::v1::EchoReply;
using ::concord::testing::v1::EchoRequest;
using ::testing::HasSubstr;
using ::testing::Not;

// gRPC reads GRPC_SSL_CIPHER_SUITES once, at its first TLS context: pin before anything runs.
const bool kCiphersPinned = [] {
  PinTls12CipherSuites();
  return true;
}();

std::shared_ptr<grpc::Channel> Channel(int port, std::shared_ptr<grpc::ChannelCredentials> creds,
                                       const std::string& target_name_override = "") {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!target_name_override.empty()) {
    args.SetSslTargetNameOverride(target_name_override);
  }
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), creds, args);
}

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel,
                      std::string* server_pem = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EchoRequest req;
  req.set_payload("ping");
  EchoReply reply;
  grpc::Status s = Echo::NewStub(channel)->Echo(&ctx, req, &reply);
  if (server_pem != nullptr && ctx.auth_context()) {
    auto pems = ctx.auth_context()->FindPropertyValues("x509_pem_cert");
    if (!pems.empty()) server_pem->assign(pems[0].data(), pems[0].size());
  }
  return s;
}

// Runs a shell command (bounded by `timeout 10`), returns exit code and combined output.
std::pair<int, std::string> RunShell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, out};
  char buf[1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kCiphersPinned);
    server_cert_ = pki_.ServerCert();
    ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.health_address = "";
    o.metrics_address = "";
    o.tls = server_cert_.tls();
    o.tls_refresh_seconds = 1;
    o.handle_signals = false;
    runner_ = std::make_unique<ServerRunner>(o, metrics_, nullptr);
    runner_->AddService(&echo_);
    Status s = runner_->Start();
    ASSERT_TRUE(s.ok()) << s;
    port_ = runner_->port();
  }
  void TearDown() override { runner_->Shutdown(); }

  grpc::Status EchoWith(const CertFiles& files) {
    return CallEcho(Channel(port_, MakeChannelCredentials(files.tls())));
  }

  std::string SClient(const CertFiles& client, const std::string& extra) {
    return "timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port_) + " -cert " +
           client.cert_file + " -key " + client.key_file + " -CAfile " + client.ca_file +
           " -alpn h2 -brief " + extra + " </dev/null";
  }

  TestPki pki_;
  CertFiles server_cert_;
  EchoService echo_;
  metrics::Metrics metrics_;
  std::unique_ptr<ServerRunner> runner_;
  int port_ = 0;
};

TEST(ValidateTlsFiles, ChecksPresenceAndKeyMatch) {
  TestPki pki;
  CertFiles a = pki.AgencyCert(AgencyType::kPolice, "a");
  CertFiles b = pki.AgencyCert(AgencyType::kPolice, "b");
  EXPECT_TRUE(ValidateTlsFiles(a.tls()).ok());
  EXPECT_EQ(ValidateTlsFiles({a.cert_file, b.key_file, a.ca_file}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTlsFiles({a.cert_file, a.key_file, pki.dir() + "/nope"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTlsFiles({a.key_file, a.key_file, a.ca_file}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTlsFiles({}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PinTls12CipherSuites, KeepsAnOperatorChoice) {
  // Already set by kCiphersPinned (or by the environment): calling again never overwrites.
  const char* before = getenv("GRPC_SSL_CIPHER_SUITES");
  ASSERT_NE(before, nullptr);
  std::string saved = before;
  PinTls12CipherSuites();
  EXPECT_EQ(saved, getenv("GRPC_SSL_CIPHER_SUITES"));
}

TEST_F(TlsTest, ValidAgencyCertificateIsAccepted) {
  grpc::Status s = EchoWith(pki_.AgencyCert(AgencyType::kMagistrate, "pk-gent"));
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
}

TEST_F(TlsTest, ClientWithoutCertificateFailsHandshake) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(pki_.ca_file(), 60));
  options.watch_root_certs();
  grpc::Status s = CallEcho(Channel(port_, grpc::experimental::TlsCredentials(options)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(echo_.calls(), 0);
}

TEST_F(TlsTest, CertificateFromAnotherCaFailsHandshake) {
  grpc::Status s = EchoWith(pki_.ForeignCaAgencyCert(AgencyType::kPolice, "intruder"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsTest, ExpiredCertificateFailsHandshake) {
  grpc::Status s = EchoWith(pki_.ExpiredAgencyCert(AgencyType::kPolice, "old"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsTest, NotYetValidCertificateFailsHandshake) {
  grpc::Status s = EchoWith(pki_.NotYetValidAgencyCert(AgencyType::kPolice, "future"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsTest, CertificateWithoutSpiffeIdIsUnauthenticated) {
  grpc::Status s = EchoWith(pki_.CertWithoutUriSan());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("no URI SAN"));
}

TEST_F(TlsTest, CertificateWithTwoUriSansIsUnauthenticated) {
  grpc::Status s = EchoWith(pki_.CertWithTwoUriSans(AgencyType::kPolice, "twice"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("more than one URI SAN"));
}

TEST_F(TlsTest, MalformedSpiffeIdIsUnauthenticated) {
  for (const char* uri :
       {"spiffe://concord.test/agency/sheriff/x", "spiffe://concord.test/service/concord-server",
        "spiffe://concord.test:8443/agency/police/x", "urn:concord:police:x"}) {
    grpc::Status s = EchoWith(pki_.CertWithUriSan(uri));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << uri;
    EXPECT_THAT(s.error_message(), HasSubstr("SPIFFE ID is invalid")) << uri;
  }
}

TEST_F(TlsTest, ClientVerifiesServerHostName) {
  CertFiles client = pki_.AgencyCert(AgencyType::kPolice, "pz-x");
  // 127.0.0.1 (IP SAN) and localhost (DNS SAN) match; another name does not.
  EXPECT_TRUE(CallEcho(Channel(port_, MakeChannelCredentials(client.tls()))).ok());
  EXPECT_TRUE(CallEcho(Channel(port_, MakeChannelCredentials(client.tls()), "localhost")).ok());
  grpc::Status s =
      CallEcho(Channel(port_, MakeChannelCredentials(client.tls()), "directory.concord.test"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsTest, ClientRejectsServerFromAnotherCa) {
  CertFiles client = pki_.AgencyCert(AgencyType::kPolice, "pz-x");
  TlsFiles tls = client.tls();
  tls.ca_file = pki_.foreign_ca_file();  // trusts only the other CA
  grpc::Status s = CallEcho(Channel(port_, MakeChannelCredentials(tls)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsTest, ServerCertificateRotationIsPickedUp) {
  CertFiles client = pki_.AgencyCert(AgencyType::kPolice, "pz-x");
  std::string pem;
  ASSERT_TRUE(CallEcho(Channel(port_, MakeChannelCredentials(client.tls())), &pem).ok());
  auto before = CallerFromPemCertificate(pem);  // the server cert has no agency id...
  EXPECT_FALSE(before.ok());                    // ...so compare PEMs instead
  EXPECT_EQ(pem, server_cert_.ReadCert());

  // Replace the files in place, as a Secret update does (write to temp, rename over).
  CertFiles next = pki_.ServerCert();
  std::filesystem::copy_file(next.key_file, server_cert_.key_file + ".tmp");
  std::filesystem::copy_file(next.cert_file, server_cert_.cert_file + ".tmp");
  std::filesystem::rename(server_cert_.key_file + ".tmp", server_cert_.key_file);
  std::filesystem::rename(server_cert_.cert_file + ".tmp", server_cert_.cert_file);
  const std::string want = next.ReadCert();

  // Readiness poll: the provider re-reads files every tls_refresh_seconds (1 s here).
  bool rotated = false;
  for (const absl::Time end = absl::Now() + absl::Seconds(15); absl::Now() < end && !rotated;) {
    std::string seen;
    grpc::Status s = CallEcho(Channel(port_, MakeChannelCredentials(client.tls())), &seen);
    rotated = s.ok() && seen == want;
    if (!rotated) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(rotated);
}

TEST_F(TlsTest, OpensslNegotiatesTls13ByDefault) {
  auto [rc, out] = RunShell(SClient(pki_.AgencyCert(AgencyType::kPolice, "s"), ""));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("Protocol version: TLSv1.3")) << out;
}

TEST_F(TlsTest, OpensslTls11AndTls10AreRefused) {
  CertFiles client = pki_.AgencyCert(AgencyType::kPolice, "s");
  for (const char* flags :
       {"-tls1_1 -cipher 'DEFAULT@SECLEVEL=0'", "-tls1 -cipher 'DEFAULT@SECLEVEL=0'"}) {
    auto [rc, out] = RunShell(SClient(client, flags));
    EXPECT_NE(rc, 0) << flags << "\n" << out;
    EXPECT_THAT(out, Not(HasSubstr("Protocol version:"))) << flags << "\n" << out;
  }
}

TEST_F(TlsTest, OpensslTls12OnlyWithEcdheAead) {
  CertFiles client = pki_.AgencyCert(AgencyType::kPolice, "s");
  auto [rc, out] = RunShell(SClient(client, "-tls1_2"));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("Protocol version: TLSv1.2")) << out;
  EXPECT_THAT(
      out, ::testing::ContainsRegex(
               "Ciphersuite: ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)"))
      << out;
  // ChaCha20-Poly1305 is not in gRPC's default list: accepted only because PinTls12CipherSuites()
  // took effect.
  auto [rc3, out3] = RunShell(SClient(client, "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305"));
  EXPECT_EQ(rc3, 0) << out3;
  EXPECT_THAT(out3, HasSubstr("Ciphersuite: ECDHE-ECDSA-CHACHA20-POLY1305")) << out3;
  // CBC and non-ECDHE suites are refused.
  for (const char* cipher : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                             "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"}) {
    auto [rc2, out2] = RunShell(SClient(client, std::string("-tls1_2 -cipher ") + cipher));
    EXPECT_NE(rc2, 0) << cipher << "\n" << out2;
    EXPECT_THAT(out2, Not(HasSubstr("Protocol version:"))) << cipher << "\n" << out2;
  }
}

}  // namespace
}  // namespace concord
