// qunzhu store/sqlite: the tables' column lists and the binding and reading of one row per
// entity, shared by the statements of every sub-seam so they cannot drift apart. Internal to the
// SQLite back end.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "model/action.hpp"
#include "model/entities.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/store.hpp"

namespace qz::sqlite {

// Column lists in struct order, shared by the upserts, the selects and the Bind*/Read*
// functions below so they cannot drift apart. The primary key comes first.
using Columns = std::span<const std::string_view>;
inline constexpr std::string_view kCommunityColumns[] = {"id", "slug", "name", "time_zone",
                                                         "created_at"};
inline constexpr std::string_view kGroupColumns[] = {
    "id",        "community_id", "platform",      "external_id",  "name",  "type",   "capacity",
    "time_zone", "first_seen",   "last_activity", "member_count", "joins", "leaves", "messages",
    "bot_left_at", "last_event_seq"};
inline constexpr std::string_view kMemberColumns[] = {
    "id",          "community_id",    "display_name", "first_seen",   "last_seen",
    "referrer_id", "channel",         "messages",     "checkins",     "link_clicks",
    "orders",      "order_amount_e4", "invited",      "points",       "last_message",
    "last_checkin", "last_event_seq"};
inline constexpr std::string_view kIdentityColumns[] = {"community_id", "platform", "external_id",
                                                 "member_id", "name"};
inline constexpr std::string_view kMembershipColumns[] = {
    "group_id",    "member_id", "role",       "active",   "joined_at",   "left_at",
    "left_reason", "via_code",  "inviter_id", "messages", "last_message"};
inline constexpr std::string_view kNameColumns[] = {"member_id", "name", "first_seen"};
inline constexpr std::string_view kTagColumns[] = {"member_id", "tag", "added_at"};
inline constexpr std::string_view kEventColumns[] = {
    "seq", "platform", "source_id", "community_id", "group_id", "member_id", "type", "time",
    "json", "member_prev", "group_prev"};
inline constexpr std::string_view kModuleStateColumns[] = {"community_id", "module", "key",
                                                           "value"};
// Written in this order (AddAction); community_id, group_id, platform and type repeat parts of
// the payload (the whole action, as ActionToJson) for filtering.
inline constexpr std::string_view kOutboxColumns[] = {
    "id",           "community_id",    "group_id", "platform",   "type",
    "status",       "attempts",        "next_attempt_at", "last_error", "platform_ref",
    "idempotency_key", "payload",      "created_at", "updated_at"};
// Read back in OutboxRecord's order (ReadOutbox).
inline constexpr std::string_view kOutboxReadColumns[] = {
    "id",         "payload",      "idempotency_key", "status",     "attempts",
    "next_attempt_at", "last_error", "platform_ref",  "created_at", "updated_at"};
inline constexpr std::string_view kTaskColumns[] = {
    "id",       "community_id", "group_id", "member_id", "kind",      "reason",
    "evidence", "cause_event",  "rule",     "open",      "created_at"};
// The operators' workflow on a task (TaskRecord), read after kTaskColumns; never written by
// AddTask (the columns' defaults: unassigned, open).
inline constexpr std::string_view kTaskWorkColumns[] = {"assignee", "closed_at", "closed_by",
                                                        "note"};
inline constexpr std::string_view kTimerColumns[] = {"id",        "community_id", "community",
                                              "key",       "rule",         "time_zone",
                                              "due",       "payload",      "cause_event",
                                              "version"};
// What PutTimer writes: every column but the id and the version (the store's own).
inline constexpr size_t kTimerWrittenColumns = 8;
inline constexpr std::string_view kTimerKeyColumns[] = {"community_id", "key"};
inline constexpr std::string_view kPlaybookColumns[] = {"community", "toml", "updated_at"};
inline constexpr std::string_view kTokenColumns[] = {"hash", "name", "created_at", "role"};
inline constexpr std::string_view kAccountColumns[] = {"name", "password_hash", "role",
                                                       "created_at", "disabled"};
inline constexpr std::string_view kCommunityRoleColumns[] = {"account", "community_id", "role"};
inline constexpr std::string_view kSessionColumns[] = {"hash", "account", "csrf", "created_at",
                                                       "expires_at"};

// "a, b, c", each column preceded by `prefix`.
std::string List(Columns columns, std::string_view prefix = {});
std::string InsertSql(std::string_view table, Columns columns);
// INSERT ... ON CONFLICT (key) DO UPDATE: replaces the row with the same key in place, setting
// every column not in `key`. Unlike INSERT OR REPLACE it never deletes a *different* row that
// collides on another UNIQUE constraint (groups' (platform, external_id)); that is reported as
// an error instead.
std::string UpsertSql(std::string_view table, Columns columns, Columns key);
// With the primary key: the first `key_count` columns.
std::string UpsertSql(std::string_view table, Columns columns, size_t key_count);

// Bind every column of the row in its column list's order.
void BindRow(Binder& b, const Community& c);
void BindRow(Binder& b, const Group& g);
void BindRow(Binder& b, const Member& m);
void BindRow(Binder& b, const Identity& i);
void BindRow(Binder& b, const Membership& m);
void BindRow(Binder& b, const MemberName& n);
void BindRow(Binder& b, const MemberTag& t);
void BindRow(Binder& b, const ModuleStateEntry& e);
void BindRow(Binder& b, const StoredPlaybook& p);
void BindRow(Binder& b, const ApiToken& t);
void BindRow(Binder& b, const Account& a);
void BindRow(Binder& b, const Session& s);
// The columns after the id (which the store assigns).
void BindRow(Binder& b, const OperatorTask& t);
void BindRow(Binder& b, const TimerRecord& t);

// Read a row selected with the entity's column list (kOutboxReadColumns for the outbox). A value
// out of range marks the reader corrupt.
Community ReadCommunity(RowReader& r);
Group ReadGroup(RowReader& r);
Member ReadMember(RowReader& r);
Identity ReadIdentity(RowReader& r);
Membership ReadMembership(RowReader& r);
MemberName ReadName(RowReader& r);
MemberTag ReadTag(RowReader& r);
ModuleStateEntry ReadModuleState(RowReader& r);
OutboxRecord ReadOutbox(RowReader& r);
OperatorTask ReadTask(RowReader& r);
// kTaskColumns then kTaskWorkColumns.
TaskRecord ReadTaskRecord(RowReader& r);
TimerRecord ReadTimer(RowReader& r);
StoredPlaybook ReadPlaybook(RowReader& r);
ApiToken ReadToken(RowReader& r);
Account ReadAccount(RowReader& r);
Session ReadSession(RowReader& r);
// One row of account_communities (kCommunityRoleColumns).
struct CommunityRoleRow {
  std::string account;
  CommunityId community_id = kNoId;
  AccountRole role = AccountRole::kViewer;
};
CommunityRoleRow ReadCommunityRole(RowReader& r);
TimerDue ReadTimerDue(RowReader& r);  // id, due
StoredEvent ReadEvent(RowReader& r);

}  // namespace qz::sqlite
