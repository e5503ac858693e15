// qunzhu model: the materialised entities (community, group, member, identity, membership).
// Plain values; the engine's State owns the live copies, the Store persists them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <optional>

#include "core/clock.hpp"
#include "model/event.hpp"

namespace qz {

using CommunityId = int64_t;
using GroupId = int64_t;
using MemberId = int64_t;
inline constexpr int64_t kNoId = 0;  // ids start at 1

inline constexpr std::string_view kDefaultCommunity = "default";
// The member tag of someone removed for good: moderation sets it when its ladder removes a member
// (and clears it on undo), operators may set it by hand; join verification rejects their join
// requests.
inline constexpr std::string_view kBlacklistTag = "blacklist";
inline constexpr std::string_view kDefaultTimeZone = "Asia/Shanghai";
inline constexpr int kDefaultGroupCapacity = 500;
// A core-user group stays small enough that everyone can be heard (seed 004: 维持在百人之内).
inline constexpr int kDefaultCoreUserCapacity = 100;

// 社群: owns groups on one or more platforms; the unit of sharding.
struct Community {
  CommunityId id = kNoId;
  std::string slug;  // as used in events' `community`
  std::string name;
  std::string time_zone{kDefaultTimeZone};
  TimeMs created_at = 0;
  friend bool operator==(const Community&, const Community&) = default;
};

// Group types from [004]: interest, core-user, learning/check-in, conversion, industry.
enum class GroupType : uint8_t { kUnspecified, kInterest, kCoreUser, kLearning, kConversion, kIndustry };
std::string_view GroupTypeName(GroupType type);
std::optional<GroupType> ParseGroupType(std::string_view name);

struct Group {
  GroupId id = kNoId;
  CommunityId community_id = kNoId;
  std::string platform;
  std::string external_id;
  std::string name;
  GroupType type = GroupType::kUnspecified;
  int32_t capacity = kDefaultGroupCapacity;
  std::string time_zone{kDefaultTimeZone};
  TimeMs first_seen = 0;
  TimeMs last_activity = 0;
  int64_t member_count = 0;  // active memberships
  int64_t joins = 0;
  int64_t leaves = 0;
  int64_t messages = 0;
  // When the bot was removed from the group (bot_removed); 0 while it is in it. Nothing is
  // sent to a group the bot is not in.
  TimeMs bot_left_at = 0;
  // The seq of the group's newest event in the log (0: none): the head of the chain of its
  // events (StoredEvent::group_prev_seq) that Store::GroupEvents follows.
  int64_t last_event_seq = 0;
  friend bool operator==(const Group&, const Group&) = default;
};

// One person in a community, across platforms (a member ledger).
struct Member {
  MemberId id = kNoId;
  CommunityId community_id = kNoId;
  std::string display_name;  // the latest name seen
  TimeMs first_seen = 0;
  TimeMs last_seen = 0;
  MemberId referrer_id = kNoId;  // who first invited them
  std::string channel;           // the invite code or channel of their first join
  int64_t messages = 0;
  int64_t checkins = 0;
  int64_t link_clicks = 0;
  int64_t orders = 0;
  int64_t order_amount_e4 = 0;  // sum of order amounts, 1/10000 units, all currencies
  int64_t invited = 0;          // members whose first join named this member as inviter
  int64_t points = 0;           // 积分 balance: sum of points_changed events
  TimeMs last_message = 0;
  TimeMs last_checkin = 0;
  // The seq of the member's newest event in the log (0: none): the head of the chain of its
  // events (StoredEvent::member_prev_seq) that Store::MemberEvents follows.
  int64_t last_event_seq = 0;
  friend bool operator==(const Member&, const Member&) = default;
};

// (community, platform, external user id) -> member.
struct Identity {
  CommunityId community_id = kNoId;
  std::string platform;
  std::string external_id;
  MemberId member_id = kNoId;
  std::string name;  // latest name seen under this identity
  friend bool operator==(const Identity&, const Identity&) = default;
};

struct Membership {
  GroupId group_id = kNoId;
  MemberId member_id = kNoId;
  Role role = Role::kMember;
  bool active = true;
  TimeMs joined_at = 0;  // first join (or first activity seen, if no join event came)
  TimeMs left_at = 0;    // latest leave; 0 while never left
  LeaveReason left_reason = LeaveReason::kLeft;
  std::string via_code;
  MemberId inviter_id = kNoId;
  int64_t messages = 0;
  TimeMs last_message = 0;
  friend bool operator==(const Membership&, const Membership&) = default;
};

// A display name as seen, the first time it was seen.
struct MemberName {
  MemberId member_id = kNoId;
  std::string name;
  TimeMs first_seen = 0;
  friend bool operator==(const MemberName&, const MemberName&) = default;
};

struct MemberTag {
  MemberId member_id = kNoId;
  std::string tag;
  TimeMs added_at = 0;
  friend bool operator==(const MemberTag&, const MemberTag&) = default;
};

}  // namespace qz
