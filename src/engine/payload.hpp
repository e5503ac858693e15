// qunzhu engine: reading an event's `payload` (a command's arguments from the API, the payload a
// module scheduled a timer with) in a module. A payload is a JSON object or empty.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "model/event.hpp"

namespace qz {

// The payload as a JSON object ({} when empty); anything else is kInvalidArgument naming
// "payload" (the API checked it, but replay and hand-made events run the module too).
inline Result<nlohmann::json> EventPayload(const Event& e) {
  auto payload = nlohmann::json::parse(e.payload.empty() ? std::string_view("{}") : std::string_view(e.payload),
                                       nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) return Status::Invalid("must be a JSON object", "payload");
  return payload;
}

// j[key] when it is a string, else "".
inline std::string StringAt(const nlohmann::json& j, std::string_view key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace qz
