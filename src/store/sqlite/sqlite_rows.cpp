#include "store/sqlite/sqlite_rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace qz::sqlite {

std::string List(Columns columns, std::string_view prefix) {
  std::string out;
  for (std::string_view column : columns) {
    if (!out.empty()) out += ", ";
    out += prefix;
    out += column;
  }
  return out;
}

std::string InsertSql(std::string_view table, Columns columns) {
  std::string placeholders;
  for (size_t i = 0; i < columns.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  return fmt::format("INSERT INTO {} ({}) VALUES ({})", table, List(columns), placeholders);
}

std::string UpsertSql(std::string_view table, Columns columns, Columns key) {
  std::string updates;
  for (std::string_view column : columns) {
    if (std::find(key.begin(), key.end(), column) != key.end()) continue;
    if (!updates.empty()) updates += ", ";
    updates += fmt::format("{0} = excluded.{0}", column);
  }
  return fmt::format("{} ON CONFLICT ({}) DO UPDATE SET {}", InsertSql(table, columns), List(key),
                     updates);
}
std::string UpsertSql(std::string_view table, Columns columns, size_t key_count) {
  return UpsertSql(table, columns, columns.first(key_count));
}

void BindRow(Binder& b, const Community& c) {
  b.Int(c.id).Text(c.slug).Text(c.name).Text(c.time_zone).Int(c.created_at);
}
void BindRow(Binder& b, const Group& g) {
  b.Int(g.id).Int(g.community_id).Text(g.platform).Text(g.external_id).Text(g.name);
  b.Int(static_cast<int64_t>(g.type)).Int(g.capacity).Text(g.time_zone).Int(g.first_seen);
  b.Int(g.last_activity).Int(g.member_count).Int(g.joins).Int(g.leaves).Int(g.messages);
  b.Int(g.bot_left_at).Int(g.last_event_seq);
}
void BindRow(Binder& b, const Member& m) {
  b.Int(m.id).Int(m.community_id).Text(m.display_name).Int(m.first_seen).Int(m.last_seen);
  b.Int(m.referrer_id).Text(m.channel).Int(m.messages).Int(m.checkins).Int(m.link_clicks);
  b.Int(m.orders).Int(m.order_amount_e4).Int(m.invited).Int(m.points).Int(m.last_message);
  b.Int(m.last_checkin).Int(m.last_event_seq);
}
void BindRow(Binder& b, const Identity& i) {
  b.Int(i.community_id).Text(i.platform).Text(i.external_id).Int(i.member_id).Text(i.name);
}
void BindRow(Binder& b, const Membership& m) {
  b.Int(m.group_id).Int(m.member_id).Int(static_cast<int64_t>(m.role)).Int(m.active ? 1 : 0);
  b.Int(m.joined_at).Int(m.left_at).Int(static_cast<int64_t>(m.left_reason)).Text(m.via_code);
  b.Int(m.inviter_id).Int(m.messages).Int(m.last_message);
}
void BindRow(Binder& b, const MemberName& n) { b.Int(n.member_id).Text(n.name).Int(n.first_seen); }
void BindRow(Binder& b, const MemberTag& t) { b.Int(t.member_id).Text(t.tag).Int(t.added_at); }
void BindRow(Binder& b, const ModuleStateEntry& e) {
  b.Int(e.community_id).Text(e.module).Text(e.key).Text(e.value);
}
void BindRow(Binder& b, const StoredPlaybook& p) {
  b.Text(p.community).Text(p.toml).Int(p.updated_at);
}
void BindRow(Binder& b, const ApiToken& t) {
  b.Text(t.hash).Text(t.name).Int(t.created_at).Int(static_cast<int64_t>(t.role));
}
void BindRow(Binder& b, const Account& a) {
  b.Text(a.name).Text(a.password_hash).Int(static_cast<int64_t>(a.role)).Int(a.created_at);
  b.Int(a.disabled ? 1 : 0);
}
void BindRow(Binder& b, const Session& s) {
  b.Text(s.hash).Text(s.account).Text(s.csrf).Int(s.created_at).Int(s.expires_at);
}
void BindRow(Binder& b, const OperatorTask& t) {
  b.Int(t.community_id).Int(t.group_id).Int(t.member_id).Text(t.kind).Text(t.reason);
  b.Text(t.evidence).Text(t.cause_event).Text(t.rule).Int(t.open ? 1 : 0).Int(t.created_at);
}
void BindRow(Binder& b, const TimerRecord& t) {
  b.Int(t.community_id).Text(t.community).Text(t.key).Text(t.rule).Text(t.time_zone).Int(t.due);
  b.Text(t.payload).Text(t.cause_event);
}

// Designated initialisers are evaluated in order, so the columns are read left to right.
Community ReadCommunity(RowReader& r) {
  return {.id = r.Int(),
          .slug = r.Text(),
          .name = r.Text(),
          .time_zone = r.Text(),
          .created_at = r.Int()};
}
Group ReadGroup(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .platform = r.Text(),
          .external_id = r.Text(),
          .name = r.Text(),
          .type = r.Enum<GroupType>(0, static_cast<int64_t>(GroupType::kIndustry)),
          .capacity = r.Int32(),
          .time_zone = r.Text(),
          .first_seen = r.Int(),
          .last_activity = r.Int(),
          .member_count = r.Int(),
          .joins = r.Int(),
          .leaves = r.Int(),
          .messages = r.Int(),
          .bot_left_at = r.Int(),
          .last_event_seq = r.Int()};
}
Member ReadMember(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .display_name = r.Text(),
          .first_seen = r.Int(),
          .last_seen = r.Int(),
          .referrer_id = r.Int(),
          .channel = r.Text(),
          .messages = r.Int(),
          .checkins = r.Int(),
          .link_clicks = r.Int(),
          .orders = r.Int(),
          .order_amount_e4 = r.Int(),
          .invited = r.Int(),
          .points = r.Int(),
          .last_message = r.Int(),
          .last_checkin = r.Int(),
          .last_event_seq = r.Int()};
}
Identity ReadIdentity(RowReader& r) {
  return {.community_id = r.Int(),
          .platform = r.Text(),
          .external_id = r.Text(),
          .member_id = r.Int(),
          .name = r.Text()};
}
Membership ReadMembership(RowReader& r) {
  return {.group_id = r.Int(),
          .member_id = r.Int(),
          .role = r.Enum<Role>(0, static_cast<int64_t>(Role::kOwner)),
          .active = r.Bool(),
          .joined_at = r.Int(),
          .left_at = r.Int(),
          .left_reason = r.Enum<LeaveReason>(0, static_cast<int64_t>(LeaveReason::kMoved)),
          .via_code = r.Text(),
          .inviter_id = r.Int(),
          .messages = r.Int(),
          .last_message = r.Int()};
}
MemberName ReadName(RowReader& r) {
  return {.member_id = r.Int(), .name = r.Text(), .first_seen = r.Int()};
}
MemberTag ReadTag(RowReader& r) {
  return {.member_id = r.Int(), .tag = r.Text(), .added_at = r.Int()};
}
ModuleStateEntry ReadModuleState(RowReader& r) {
  return {.community_id = r.Int(), .module = r.Text(), .key = r.Text(), .value = r.Text()};
}
// A payload that ActionFromJson refuses marks the row corrupt.
OutboxRecord ReadOutbox(RowReader& r) {
  OutboxRecord record;
  record.id = r.Int();
  auto action = ActionFromJson(r.Text());
  if (action.ok()) {
    record.action = std::move(action).value();
  } else {
    r.MarkCorrupt();
  }
  record.idempotency_key = r.Text();
  record.status = r.Enum<ActionStatus>(0, static_cast<int64_t>(ActionStatus::kPossiblySent));
  record.attempts = r.Int32();
  record.next_attempt_at = r.Int();
  record.last_error = r.Text();
  record.platform_ref = r.Text();
  record.created_at = r.Int();
  record.updated_at = r.Int();
  return record;
}
OperatorTask ReadTask(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .group_id = r.Int(),
          .member_id = r.Int(),
          .kind = r.Text(),
          .reason = r.Text(),
          .evidence = r.Text(),
          .cause_event = r.Text(),
          .rule = r.Text(),
          .open = r.Bool(),
          .created_at = r.Int()};
}
TaskRecord ReadTaskRecord(RowReader& r) {
  return {.task = ReadTask(r),
          .assignee = r.Text(),
          .closed_at = r.Int(),
          .closed_by = r.Text(),
          .note = r.Text()};
}
TimerRecord ReadTimer(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .community = r.Text(),
          .key = r.Text(),
          .rule = r.Text(),
          .time_zone = r.Text(),
          .due = r.Int(),
          .payload = r.Text(),
          .cause_event = r.Text(),
          .version = r.Int()};
}
StoredPlaybook ReadPlaybook(RowReader& r) {
  return {.community = r.Text(), .toml = r.Text(), .updated_at = r.Int()};
}
namespace {
// A stored role; a value that is no role marks the row corrupt.
AccountRole ReadRole(RowReader& r) {
  return r.Enum<AccountRole>(static_cast<int64_t>(AccountRole::kViewer),
                             static_cast<int64_t>(AccountRole::kOwner));
}
}  // namespace
ApiToken ReadToken(RowReader& r) {
  return {.hash = r.Text(), .name = r.Text(), .created_at = r.Int(), .role = ReadRole(r)};
}
Account ReadAccount(RowReader& r) {
  return {.name = r.Text(),
          .password_hash = r.Text(),
          .role = ReadRole(r),
          .created_at = r.Int(),
          .disabled = r.Bool()};
}
Session ReadSession(RowReader& r) {
  return {.hash = r.Text(),
          .account = r.Text(),
          .csrf = r.Text(),
          .created_at = r.Int(),
          .expires_at = r.Int()};
}
CommunityRoleRow ReadCommunityRole(RowReader& r) {
  return {.account = r.Text(), .community_id = r.Int(), .role = ReadRole(r)};
}
TimerDue ReadTimerDue(RowReader& r) { return {.id = r.Int(), .due = r.Int()}; }
StoredEvent ReadEvent(RowReader& r) {
  return {.seq = r.Int(),
          .platform = r.Text(),
          .source_id = r.Text(),
          .community_id = r.Int(),
          .group_id = r.Int(),
          .member_id = r.Int(),
          .type = r.Enum<EventType>(1, kEventTypeCount),
          .time = r.Int(),
          .json = r.Text(),
          .member_prev_seq = r.Int(),
          .group_prev_seq = r.Int()};
}

}  // namespace qz::sqlite
