#include "platform/sandbox/sandbox_routes.hpp"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "engine/ingest.hpp"
#include "model/event.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "platform/sandbox/sandbox_live.hpp"
#include "server/module_api.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr std::string_view kSandboxPlatform = "sandbox";  // SandboxPlatform::platform()

// A sandbox event once ingested: the canonical event embedded verbatim, and what the log made
// of it (accepted 1, or a duplicate).
ApiResponse SandboxEventResponse(const IngestResult& r, const std::string& event_json) {
  if (!r.status.ok()) return ErrorResponse(r.status);
  if (!r.rejected.empty()) {
    const Status& e = r.rejected.front().error;
    return ErrorResponse(e.ok() ? Status::Invalid("the event was rejected") : e);
  }
  ApiResponse res;
  res.body = "{\"event\":" + event_json + ",\"accepted\":" + std::to_string(r.accepted) +
             ",\"duplicates\":" + std::to_string(r.duplicates) + "}";
  return res;
}

// A JSON object body whose values are all strings. Every key must be one of `allowed`; those in
// `required` must be present and non-empty. Errors name the field ("body" when the body is not
// a JSON object).
using StringFields = std::map<std::string, std::string, std::less<>>;
Result<StringFields> ParseStringFields(std::string_view body,
                                       std::initializer_list<std::string_view> allowed,
                                       std::initializer_list<std::string_view> required) {
  const ApiJson j = ApiJson::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Invalid("the body must be a JSON object", "body");
  }
  StringFields out;
  for (const auto& [key, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Status::Invalid("unknown field", key);
    }
    if (!value.is_string()) return Status::Invalid("must be a string", key);
    out[key] = value.get<std::string>();
  }
  for (std::string_view key : required) {
    auto it = out.find(key);
    if (it == out.end() || it->second.empty()) {
      return Status::Invalid("is required", std::string(key));
    }
  }
  return out;
}

std::string FieldOr(const StringFields& fields, std::string_view key) {
  auto it = fields.find(key);
  return it == fields.end() ? std::string() : it->second;
}

enum class MemberAction { kMessage, kJoin, kLeave, kRequest };

// Ingests a sandbox event; the answer comes from the ingest writer once the event is durable.
Status SubmitSandboxEvent(Call& c, Result<Event> event) {
  if (!event.ok()) return event.status();
  IngestBatch batch;
  std::string json = EventToJson(event.value());
  batch.json.push_back(json);
  batch.events.push_back(std::move(event).value());
  batch.indexes.push_back(0);
  c.ingest().Submit(std::move(batch),
                    c.AnswerWhenDone<IngestResult>([json = std::move(json)](const IngestResult& r) {
                      return SandboxEventResponse(r, json);
                    }));
  return Status::Ok();
}

// The posting routes act inside the community of their group (Scope::kCommunity): the caller's
// role there must allow operator. The group is the store's group of that id on the sandbox
// platform; one the store does not know yet (this request may be its first event) belongs to no
// community so far, and neither does a private chat: the base role counts. Blocking.
Status RequireOperatorOfGroup(Call& c, std::string_view group) {
  if (!group.empty()) {
    QZ_ASSIGN_OR_RETURN(const std::optional<Group> known,
                        c.store().FindGroup(kSandboxPlatform, group));
    if (known) return RequireRoleIn(c, known->community_id, AccountRole::kOperator);
  }
  return c.RequireRole(kNoId, AccountRole::kOperator);
}

// A member's picture ("image": the file in Base64), decoded and scanned for QR codes here, on the
// blocking pool (a large picture keeps a thread busy for a while).
Status PostImageMessage(Call& c, SandboxPlatform& sandbox, const StringFields& f) {
  Result<std::string> image = Base64Decode(FieldOr(f, "image"));
  if (!image.ok()) return Status::Invalid(image.status().message(), "image");
  return SubmitSandboxEvent(
      c, sandbox.PostImage(c.Param("group"), FieldOr(f, "member"), FieldOr(f, "name"), *image,
                           FieldOr(f, "text"), FieldOr(f, "community")));
}

// On the blocking pool (the caller's role in the group's community is read from the store); the
// sandbox is in memory and thread-safe.
Status PostMemberAction(Call& c, SandboxPlatform& sandbox, MemberAction what) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  const std::string& group = c.Param("group");
  QZ_RETURN_IF_ERROR(RequireOperatorOfGroup(c, group));
  const std::string_view body = c.body();
  switch (what) {
    case MemberAction::kMessage: {
      QZ_ASSIGN_OR_RETURN(
          StringFields f,
          ParseStringFields(body, {"member", "name", "text", "image", "community"}, {"member"}));
      if (f.contains("image")) return PostImageMessage(c, sandbox, f);
      // Without a picture, the text is the message.
      if (FieldOr(f, "text").empty()) return Status::Invalid("is required", "text");
      return SubmitSandboxEvent(c,
                                sandbox.PostMessage(group, FieldOr(f, "member"), FieldOr(f, "name"),
                                                    FieldOr(f, "text"), FieldOr(f, "community")));
    }
    case MemberAction::kJoin: {
      QZ_ASSIGN_OR_RETURN(
          const StringFields f,
          ParseStringFields(body, {"member", "name", "inviter", "code", "community"}, {"member"}));
      return SubmitSandboxEvent(
          c, sandbox.Join(group, FieldOr(f, "member"), FieldOr(f, "name"), FieldOr(f, "inviter"),
                          FieldOr(f, "code"), FieldOr(f, "community")));
    }
    case MemberAction::kLeave: {
      QZ_ASSIGN_OR_RETURN(const StringFields f,
                          ParseStringFields(body, {"member", "community"}, {"member"}));
      return SubmitSandboxEvent(
          c, sandbox.Leave(group, FieldOr(f, "member"), FieldOr(f, "community")));
    }
    case MemberAction::kRequest: {
      QZ_ASSIGN_OR_RETURN(
          const StringFields f,
          ParseStringFields(body, {"member", "name", "text", "community"}, {"member"}));
      return SubmitSandboxEvent(c, sandbox.Request(group, FieldOr(f, "member"), FieldOr(f, "name"),
                                                   FieldOr(f, "text"), FieldOr(f, "community")));
    }
  }
  return Status::Internal("unknown sandbox action");
}

// A role given on the platform: nothing is ingested (the bot learns it by a member sync).
Status PostRole(Call& c, SandboxPlatform& sandbox) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  QZ_RETURN_IF_ERROR(RequireOperatorOfGroup(c, c.Param("group")));
  QZ_ASSIGN_OR_RETURN(const StringFields f,
                      ParseStringFields(c.body(), {"member", "role"}, {"member", "role"}));
  const std::optional<Role> role = ParseRole(FieldOr(f, "role"));
  if (!role) return Status::Invalid("must be owner, admin, assistant or member", "role");
  const std::string& group = c.Param("group");
  QZ_RETURN_IF_ERROR(sandbox.SetRole(group, FieldOr(f, "member"), *role));
  c.RespondJson({{"group", group}, {"member", FieldOr(f, "member")}, {"role", RoleName(*role)}});
  return Status::Ok();
}

Status PostDirect(Call& c, SandboxPlatform& sandbox) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  QZ_RETURN_IF_ERROR(RequireOperatorOfGroup(c, {}));
  QZ_ASSIGN_OR_RETURN(const StringFields f, ParseStringFields(c.body(),
                                                              {"member", "name", "text", "community"},
                                                              {"member", "text"}));
  return SubmitSandboxEvent(c, sandbox.PostDirect(FieldOr(f, "member"), FieldOr(f, "name"),
                                                  FieldOr(f, "text"), FieldOr(f, "community")));
}

// One page of a conversation: a group's (`key` "group") or a member's private chat ("member").
Status RespondConversation(Call& c, std::string_view key, const std::string& id,
                           const std::function<std::vector<SandboxEntry>(int64_t, size_t)>& read) {
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("after", CursorForm::kNonNegative));
  const std::vector<SandboxEntry> entries = read(page.cursor, static_cast<size_t>(page.limit));
  ApiJson messages = ApiJson::array();
  for (const SandboxEntry& e : entries) messages.push_back(SandboxEntryJson(e));
  const int64_t last = entries.empty() ? 0 : entries.back().seq;
  c.RespondJson({{key, id},
                 {"messages", std::move(messages)},
                 {"next_after", NextCursor(page, entries.size(), last, CursorJson::kNumber)}});
  return Status::Ok();
}

}  // namespace

Status AddSandboxRoutes(RouteTable& table, SandboxPlatform& sandbox) {
  constexpr std::string_view kGroup = "/api/v1/sandbox/groups/{group}";
  const std::string group(kGroup);
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/sandbox/groups", [&sandbox](Call& c) {
                                  ApiJson groups = ApiJson::array();
                                  for (const std::string& g : sandbox.Groups()) groups.push_back(g);
                                  c.RespondJson({{"groups", std::move(groups)}});
                                  return Status::Ok();
                                }}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", group + "/messages", [&sandbox](Call& c) {
                                  const std::string& g = c.Param("group");
                                  return RespondConversation(c, "group", g, [&](int64_t after, size_t n) {
                                    return sandbox.Conversation(g, after, n);
                                  });
                                }}));
  // The posting routes: operators of the group's community (RequireOperatorOfGroup).
  QZ_RETURN_IF_ERROR(table.Add({"POST", "/api/v1/sandbox/direct",
                                [&sandbox](Call& c) { return PostDirect(c, sandbox); },
                                RunOn::kBlockingPool, Access::kSignedIn, AccountRole::kOperator,
                                Scope::kCommunity}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/sandbox/direct/{member}", [&sandbox](Call& c) {
                                  const std::string& m = c.Param("member");
                                  return RespondConversation(c, "member", m, [&](int64_t after, size_t n) {
                                    return sandbox.DirectConversation(m, after, n);
                                  });
                                }}));
  const std::pair<const char*, MemberAction> posts[] = {{"/messages", MemberAction::kMessage},
                                                        {"/join", MemberAction::kJoin},
                                                        {"/leave", MemberAction::kLeave},
                                                        {"/request", MemberAction::kRequest}};
  for (const auto& [suffix, what] : posts) {
    QZ_RETURN_IF_ERROR(table.Add({"POST", group + suffix,
                                  [&sandbox, what = what](Call& c) {
                                    return PostMemberAction(c, sandbox, what);
                                  },
                                  RunOn::kBlockingPool, Access::kSignedIn, AccountRole::kOperator,
                                  Scope::kCommunity}));
  }
  QZ_RETURN_IF_ERROR(table.Add({"POST", group + "/role",
                                [&sandbox](Call& c) { return PostRole(c, sandbox); },
                                RunOn::kBlockingPool, Access::kSignedIn, AccountRole::kOperator,
                                Scope::kCommunity}));
  return Status::Ok();
}

}  // namespace qz
