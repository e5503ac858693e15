// qunzhu server/routes: JSON conventions shared by the API's responses. Internal to the server.
#pragma once

#include <cstdint>

#include "core/time.hpp"
#include "model/entities.hpp"
#include "server/route.hpp"

namespace qz {

// A time as RFC 3339, or null for "never" (0).
inline ApiJson TimeJson(TimeMs ms) { return ms == 0 ? ApiJson(nullptr) : ApiJson(FormatRfc3339(ms)); }
// An id, or null for "none" (kNoId).
inline ApiJson IdJson(int64_t id) { return id == kNoId ? ApiJson(nullptr) : ApiJson(id); }

}  // namespace qz
