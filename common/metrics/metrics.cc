// File: common/metrics/metrics.cc
#include "common/metrics/metrics.h"

#include <sstream>
#include <utility>

#include "common/metrics/internal/grpc_server_metrics.h"
#include "prometheus/gauge.h"
#include "prometheus/text_serializer.h"

namespace concord::metrics {

#ifndef CONCORD_VERSION
#define CONCORD_VERSION "unknown"
#endif

Metrics::Metrics() : Metrics(CONCORD_VERSION) {}

Metrics::Metrics(std::string version) : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("concord_build_info")
      .Help("Concord build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", std::move(version)}})
      .Set(1);
}

Metrics::~Metrics() = default;

internal::GrpcServerMetrics& Metrics::grpc_server_metrics() {
  std::call_once(grpc_once_,
                 [this] { grpc_ = std::make_unique<internal::GrpcServerMetrics>(*registry_); });
  return *grpc_;
}

std::string Metrics::Serialize() const {
  const prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, registry_->Collect());
  return std::move(out).str();
}

}  // namespace concord::metrics
