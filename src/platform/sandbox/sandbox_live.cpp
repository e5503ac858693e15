#include "platform/sandbox/sandbox_live.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/message_socket.hpp"
#include "core/time.hpp"

namespace qz {

ApiJson SandboxEntryJson(const SandboxEntry& e) {
  return {{"seq", e.seq},
          {"time", e.time == 0 ? ApiJson(nullptr) : ApiJson(FormatRfc3339(e.time))},
          {"kind", e.kind},
          {"member", e.member},
          {"name", e.name},
          {"text", e.text},
          {"message_id", e.message_id},
          {"reply_to", e.reply_to},
          {"duration_s", e.duration_s},
          {"deleted", e.deleted},
          {"image", e.image},
          {"qr", e.qr},
          {"action_id", e.action_id == 0 ? ApiJson(nullptr) : ApiJson(e.action_id)},
          {"request", e.request}};
}

namespace {

constexpr size_t kFirstFrameEntries = 1000;

std::string Frame(const std::string& group, const std::vector<SandboxEntry>& entries) {
  ApiJson messages = ApiJson::array();
  for (const SandboxEntry& e : entries) messages.push_back(SandboxEntryJson(e));
  return ApiJson{{"group", group}, {"messages", std::move(messages)}}.dump(
      -1, ' ', false, ApiJson::error_handler_t::replace);
}

// An Origin header (browsers send one on every WebSocket handshake) must name this host.
bool SameOrigin(const ApiRequest& request) {
  const std::string_view origin = request.Header("origin");
  if (origin.empty()) return true;  // not a browser: the token or cookie decides
  const std::string_view host = request.Header("host");
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() == scheme.size() + host.size() && origin.starts_with(scheme) &&
        origin.substr(scheme.size()) == host) {
      return true;
    }
  }
  return false;
}

Status OpenFeed(Call& c, SandboxPlatform& sandbox) {
  if (!SameOrigin(c.request())) {
    return Status(Code::kPermissionDenied, "the Origin header names another site", "origin");
  }
  const std::string* group = c.query().Get("group");
  if (group == nullptr || group->empty()) return Status::Invalid("is required", "group");
  QZ_ASSIGN_OR_RETURN(const int64_t after, c.query().NonNegative("after"));
  auto accept = [&sandbox, group = *group, after](std::shared_ptr<MessageSocket> socket) {
    // Watching first, then reading what is there: an entry recorded in between comes twice
    // (the client keeps one per seq), never not at all.
    const SandboxPlatform::WatchId id = sandbox.Watch([socket, group](const SandboxEntry& e) {
      if (e.group == group) socket->Send(Frame(group, {e}));
    });
    socket->Send(Frame(group, sandbox.Conversation(group, after, kFirstFrameEntries)));
    return MessageSocketHandler{.on_message = [](const std::string&) {},
                                .on_close = [&sandbox, id] { sandbox.Unwatch(id); }};
  };
  c.Respond({.status = 101, .accept_socket = std::move(accept)});
  return Status::Ok();
}

}  // namespace

Status AddSandboxLiveRoute(RouteTable& table, SandboxPlatform& sandbox) {
  return table.Add({"GET", "/api/v1/sandbox/live",
                    [&sandbox](Call& c) { return OpenFeed(c, sandbox); }});
}

}  // namespace qz
