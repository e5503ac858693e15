// Members: the listing (filters, search, pages), one member's profile, and their events.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/entities.hpp"
#include "server/routes/json.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr size_t kMaxQueryBytes = 256;  // `q` and `tag` on /members

ApiJson MemberJson(const Member& m) {
  return {{"id", m.id},
          {"community_id", m.community_id},
          {"display_name", m.display_name},
          {"first_seen", TimeJson(m.first_seen)},
          {"last_seen", TimeJson(m.last_seen)},
          {"referrer_id", IdJson(m.referrer_id)},
          {"channel", m.channel},
          {"last_message", TimeJson(m.last_message)},
          {"last_checkin", TimeJson(m.last_checkin)},
          {"counters",
           {{"messages", m.messages},
            {"checkins", m.checkins},
            {"link_clicks", m.link_clicks},
            {"orders", m.orders},
            {"order_amount", FormatAmountE4(m.order_amount_e4)},
            {"invited", m.invited}}}};
}

ApiJson ProfileJson(const MemberProfile& p) {
  ApiJson j = MemberJson(p.member);
  ApiJson counters = std::move(j["counters"]);
  j.erase("counters");
  ApiJson identities = ApiJson::array();
  for (const Identity& i : p.identities) {
    identities.push_back({{"community_id", i.community_id},
                          {"platform", i.platform},
                          {"external_id", i.external_id},
                          {"name", i.name}});
  }
  ApiJson memberships = ApiJson::array();
  for (const Membership& m : p.memberships) {
    memberships.push_back(
        {{"group_id", m.group_id},
         {"role", RoleName(m.role)},
         {"active", m.active},
         {"joined_at", TimeJson(m.joined_at)},
         {"left_at", TimeJson(m.left_at)},
         {"left_reason", m.left_at == 0 ? ApiJson(nullptr) : ApiJson(LeaveReasonName(m.left_reason))},
         {"via_code", m.via_code},
         {"inviter_id", IdJson(m.inviter_id)},
         {"messages", m.messages},
         {"last_message", TimeJson(m.last_message)}});
  }
  ApiJson names = ApiJson::array();
  for (const MemberName& n : p.names) {
    names.push_back({{"name", n.name}, {"first_seen", TimeJson(n.first_seen)}});
  }
  ApiJson tags = ApiJson::array();
  for (const MemberTag& t : p.tags) {
    tags.push_back({{"tag", t.tag}, {"added_at", TimeJson(t.added_at)}});
  }
  j["identities"] = std::move(identities);
  j["memberships"] = std::move(memberships);
  j["names"] = std::move(names);
  j["tags"] = std::move(tags);
  j["counters"] = std::move(counters);
  return j;
}

// The member orders, by their names in the member JSON ("messages" is counters.messages).
struct MemberSortName {
  const char* name;
  MemberSort sort;
  bool text;  // sorted by a text (else an integer)
};
constexpr MemberSortName kMemberSorts[] = {
    {"id", MemberSort::kId, false},
    {"display_name", MemberSort::kDisplayName, true},
    {"first_seen", MemberSort::kFirstSeen, false},
    {"last_seen", MemberSort::kLastSeen, false},
    {"last_message", MemberSort::kLastMessage, false},
    {"messages", MemberSort::kMessages, false},
};

// GET /api/v1/members?group=&community=&q=&tag=&role=&sort=&order=&cursor=&limit=
// tag: members with this tag; role: members with an active membership of this role (owner,
// admin, assistant, member), in `group` when given.
// Without sort (or with sort=id&order=asc): ascending ids, the cursor the last id (as before).
// With another order: keyset pages in (sort value, id) order and an opaque cursor that belongs
// to that sort and order.
Status GetMembers(Call& c) {
  MemberQuery mq;
  QZ_ASSIGN_OR_RETURN(const int64_t group, c.query().Id("group"));
  if (group != 0) mq.group_id = group;
  QZ_ASSIGN_OR_RETURN(const int64_t community, c.query().Id("community"));
  if (community != 0) mq.community_id = community;
  if (const std::string* q = c.query().Get("q")) {
    if (q->size() > kMaxQueryBytes) {
      return Status::Invalid("longer than " + std::to_string(kMaxQueryBytes) + " bytes", "q");
    }
    mq.q = *q;
  }
  if (const std::string* tag = c.query().Get("tag")) {
    if (tag->size() > kMaxQueryBytes) {
      return Status::Invalid("longer than " + std::to_string(kMaxQueryBytes) + " bytes", "tag");
    }
    mq.tag = *tag;
  }
  if (const std::string* role = c.query().Get("role"); role != nullptr && !role->empty()) {
    mq.role = ParseRole(*role);
    if (!mq.role) return Status::Invalid("must be one of owner, admin, assistant, member", "role");
  }
  const MemberSortName* sort = &kMemberSorts[0];
  if (const std::string* name = c.query().Get("sort")) {
    sort = nullptr;
    for (const MemberSortName& s : kMemberSorts) {
      if (*name == s.name) sort = &s;
    }
    if (sort == nullptr) {
      return Status::Invalid(
          "must be one of id, display_name, first_seen, last_seen, last_message, messages", "sort");
    }
  }
  mq.sort = sort->sort;
  QZ_ASSIGN_OR_RETURN(mq.descending, ReadOrder(c.query()));
  if (!mq.sorted()) {
    QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("cursor"));
    mq.after_id = page.cursor;
    mq.limit = page.limit;
    QZ_ASSIGN_OR_RETURN(const std::vector<Member> list, c.store().ListMembers(mq));
    ApiJson out = ApiJson::array();
    for (const Member& m : list) out.push_back(MemberJson(m));
    const int64_t last = list.empty() ? 0 : list.back().id;
    c.RespondJson(
        {{"members", std::move(out)}, {"next_cursor", NextCursor(page, list.size(), last)}});
    return Status::Ok();
  }
  QZ_ASSIGN_OR_RETURN(mq.limit, c.query().Limit());
  if (const std::string* cursor = c.query().Get("cursor")) {
    QZ_ASSIGN_OR_RETURN(const auto key,
                        ReadSortCursor(*cursor, sort->name, mq.descending, sort->text));
    mq.after = SortKey{.value = {}, .id = key.second};
    if (sort->text) {
      mq.after->value = key.first.get<std::string>();
    } else {
      mq.after->value = key.first.get<int64_t>();
    }
  }
  QZ_ASSIGN_OR_RETURN(const std::vector<Member> list, c.store().ListMembers(mq));
  ApiJson out = ApiJson::array();
  for (const Member& m : list) out.push_back(MemberJson(m));
  ApiJson next = nullptr;
  if (!list.empty() && static_cast<int>(list.size()) == mq.limit) {
    const SortKey last = MemberSortKey(list.back(), mq.sort);
    const auto* text = std::get_if<std::string>(&last.value);
    next = SortCursor(sort->name, mq.descending,
                      text != nullptr ? ApiJson(*text) : ApiJson(std::get<int64_t>(last.value)),
                      last.id);
  }
  c.RespondJson({{"members", std::move(out)}, {"next_cursor", std::move(next)}});
  return Status::Ok();
}

// GET /api/v1/tags?community=  → {"tags":[{"tag":…,"members":n}]}, ascending by tag.
Status GetTags(Call& c) {
  QZ_ASSIGN_OR_RETURN(const int64_t community, c.query().Id("community"));
  QZ_ASSIGN_OR_RETURN(const std::vector<TagCount> tags,
                      c.store().ListTags(community != 0 ? std::optional(community) : std::nullopt));
  ApiJson out = ApiJson::array();
  for (const TagCount& t : tags) out.push_back({{"tag", t.tag}, {"members", t.members}});
  c.RespondJson({{"tags", std::move(out)}});
  return Status::Ok();
}

// GET /api/v1/members/{id}
Status GetMember(Call& c) {
  const MemberId id = c.IntParam("id");
  auto profile = c.store().GetMember(id);
  if (!profile.ok()) {
    if (profile.status().code() == Code::kNotFound) {
      return Status::NotFound("no member " + std::to_string(id));
    }
    return profile.status();
  }
  c.RespondJson(ProfileJson(*profile));
  return Status::Ok();
}

// GET /api/v1/members/{id}/events?before=&limit=  (newest first)
Status GetMemberEvents(Call& c) {
  const MemberId id = c.IntParam("id");
  return RespondWithEvents(c, [&](int64_t before, int limit) {
    return c.store().MemberEvents(id, before, limit);
  });
}

}  // namespace

Status AddMemberRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/members", GetMembers, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/tags", GetTags, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(
      table.Add({"GET", "/api/v1/members/{id:int}", GetMember, RunOn::kBlockingPool}));
  return table.Add(
      {"GET", "/api/v1/members/{id:int}/events", GetMemberEvents, RunOn::kBlockingPool});
}

}  // namespace qz
