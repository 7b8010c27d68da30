// File: common/status/status_macros.h
//
// Early-return helpers for Status/StatusOr (Debian's Abseil 20220623 has none).
//   CONCORD_RETURN_IF_ERROR(DoThing());
//   CONCORD_ASSIGN_OR_RETURN(Agency a, store.Get(id));
// The _GRPC_ variants return a grpc::Status (converted with ToGrpcStatus) and are meant for
// handlers only.
#pragma once

#include "common/status/status.h"

#define CONCORD_STATUS_CONCAT_INNER_(a, b) a##b
#define CONCORD_STATUS_CONCAT_(a, b) CONCORD_STATUS_CONCAT_INNER_(a, b)

#define CONCORD_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::concord::Status concord_status_ = (expr);        \
    if (!concord_status_.ok()) return concord_status_; \
  } while (0)

#define CONCORD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

#define CONCORD_ASSIGN_OR_RETURN(lhs, expr) \
  CONCORD_ASSIGN_OR_RETURN_IMPL_(CONCORD_STATUS_CONCAT_(concord_statusor_, __LINE__), lhs, expr)

#define CONCORD_GRPC_RETURN_IF_ERROR(expr)                                      \
  do {                                                                          \
    ::concord::Status concord_status_ = (expr);                                 \
    if (!concord_status_.ok()) return ::concord::ToGrpcStatus(concord_status_); \
  } while (0)

#define CONCORD_GRPC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)    \
  auto tmp = (expr);                                           \
  if (!tmp.ok()) return ::concord::ToGrpcStatus(tmp.status()); \
  lhs = std::move(tmp).value()

#define CONCORD_GRPC_ASSIGN_OR_RETURN(lhs, expr)                                                \
  CONCORD_GRPC_ASSIGN_OR_RETURN_IMPL_(CONCORD_STATUS_CONCAT_(concord_statusor_, __LINE__), lhs, \
                                      expr)
