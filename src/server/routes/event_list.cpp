// A page of stored events as the API answers it: a member's or a group's, newest first.
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

#include "server/routes/json.hpp"

namespace qz {
namespace {

bool IsBlankChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The stored canonical objects embedded verbatim (no re-encoding: numbers and key order stay
// exactly as stored), each followed by "seq" and, when there is one, "member_id" (the console's
// id of the member it is about). They come last because a sender's own fields are kept in the
// event (attrs) and may use those names too: parsers keep the last of duplicate keys.
Result<std::string> EventsBody(const std::vector<StoredEvent>& events, const PageRequest& page) {
  std::string out = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    const StoredEvent& e = events[i];
    std::string_view obj = e.json;
    while (!obj.empty() && IsBlankChar(obj.front())) obj.remove_prefix(1);
    while (!obj.empty() && IsBlankChar(obj.back())) obj.remove_suffix(1);
    if (obj.size() < 2 || obj.front() != '{' || obj.back() != '}') {
      return Status::Internal("stored event " + std::to_string(e.seq) + " is not a JSON object");
    }
    std::string_view inner = obj.substr(1, obj.size() - 2);
    if (i > 0) out += ',';
    out += '{';
    bool blank = true;
    for (char ch : inner) blank = blank && IsBlankChar(ch);
    if (!blank) {
      out += inner;
      out += ',';
    }
    out += "\"seq\":";
    out += std::to_string(e.seq);
    if (e.member_id != kNoId) {
      out += ",\"member_id\":";
      out += std::to_string(e.member_id);
    }
    out += '}';
  }
  const int64_t last = events.empty() ? 0 : events.back().seq;
  out += "],\"next_before\":";
  out += NextCursor(page, events.size(), last, CursorJson::kNumber).dump();
  out += '}';
  return out;
}

}  // namespace

Status RespondWithEvents(
    Call& c, const std::function<Result<std::vector<StoredEvent>>(int64_t, int)>& read) {
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("before"));
  QZ_ASSIGN_OR_RETURN(const std::vector<StoredEvent> events, read(page.cursor, page.limit));
  auto body = EventsBody(events, page);
  if (!body.ok()) {
    spdlog::error("GET {}: {}", c.path(), body.status().ToString());
    return body.status();
  }
  ApiResponse res;
  res.body = std::move(*body);
  c.Respond(std::move(res));
  return Status::Ok();
}

}  // namespace qz
