// File: cli/concordctl/liaison_format.h
//
// How concordctl shows the legal clocks of a liaison request. Like the referrals commands show the
// procedure's times where its days end (Europe/Brussels, ISO 8601 with the offset), a liaison
// clock is shown in its own time zone (Clock.time_zone: the executor's), with the offset; UTC,
// marked Z, only when the zone is unknown to this host's tz data.
#pragma once

#include <string>

#include "concord/liaison/v1/liaison.pb.h"

namespace concord::ctl {

/// The clock's due time in its time zone: "2026-10-09T00:00:00+02:00" ("" when unset).
std::string ClockDueLocalText(const ::concord::liaison::v1::Clock& clock);

/// The earliest due time of the request's clocks (by instant, not by text), as
/// ClockDueLocalText, with " OVERDUE" when that clock is overdue; "-" without clocks.
std::string NextDueText(const ::concord::liaison::v1::Request& request);

}  // namespace concord::ctl
