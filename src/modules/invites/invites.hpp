// qunzhu module `invites` (拉群: 专属邀请码, 活码): invite codes per channel and per member that
// record every join they bring (code, channel, inviter), and live codes (活码) that hand out the
// first of a set of groups with room and, when all are full, ask for the next overflow group
// ("7天成长营·{n}群") with an operator task. Owns the playbook section [invites]; keeps the tables
// `codes` (one row per code: its group or live code, channel, inviter, join count), `joins`
// (code, member → group, time) and `overflow` (per live code: the overflow group last asked for).
// Its HTTP face (routes.hpp) creates codes, lists their joins, draws their QR codes and answers
// the public landing address a QR code points to.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// [A-Za-z0-9_-]{3,32}: safe in a URL path and a module row key as it is.
bool IsInviteCode(std::string_view code);

// One [[invites.live]] entry.
struct LiveCode {
  std::string code;
  std::string name;                 // shown on the landing page
  std::vector<std::string> groups;  // "platform:id", filled in this order
  std::string overflow;             // the next group's name, "{n}" its number; empty: none
};

// One [[invites.keywords]] entry (关键词拉群): a person who writes one of `keywords` to the bot in
// a private chat (or in a lobby group) gets the invite of the first group with room among
// `live`'s groups or the entry's own, if they carry `tag` (a profile field is the tag
// "<field>:<value>", e.g. "region:上海", as join verification sets it).
struct KeywordJoin {
  std::vector<std::string> keywords;  // as compared (text::ShortForm)
  std::string tag;                    // empty: anyone
  std::string live;                   // a live code of this section; else `groups`
  LiveCode groups;                    // `code` empty: the entry's own groups (and overflow)
  LocalizedText reply;                // before the link; empty: the default
};

// [invites]: `base_url` (default "http://localhost:8080"; the address where this server's
// /j/<code> is reachable from a phone: what every QR code points to) and [[invites.live]] with
// `code`, `name`, `groups` (list of "platform:id", or `group_type`) and `overflow`; `lobbies`
// (groups where keywords are answered as in a private chat) and [[invites.keywords]].
struct InvitesConfig : SectionConfig {
  std::string base_url = "http://localhost:8080";
  std::vector<LiveCode> live;
  std::vector<std::string> lobbies;  // "platform:id"
  std::vector<KeywordJoin> keywords;
  const LiveCode* FindLive(std::string_view code) const;
};

// What a live code hands out now: the first of its groups whose members are below its capacity
// ([[groups]] capacity; 500 by default, 100 for core-user groups), or, when all are full, the
// overflow group to create next (number = the live code's groups + 1).
struct LiveChoice {
  std::string group;     // "platform:id"; empty when every group is full
  std::string overflow;  // when full and a pattern is set: the next group's name
  int overflow_n = 0;
};
LiveChoice ChooseGroup(const LiveCode& live, const Playbook& playbook,
                       const std::function<int64_t(std::string_view platform, std::string_view id)>& members);

// The keyword entry that answers `text` (any message text) from a member holding the tags
// `has_tag` says: the first with a keyword equal to text::ShortForm(text) and whose `tag` the
// member carries. Null when none.
const KeywordJoin* MatchKeyword(const InvitesConfig& config, std::string_view text,
                                const std::function<bool(std::string_view tag)>& has_tag);

// Commands (payload JSON): "invites.create" {"code","group":"platform:id","channel","inviter",
// "operator"} creates a code (an existing code is refused); "invites.overflow" {"code","n","name"}
// opens the operator task "create group <name>" once per live code and number.
std::unique_ptr<Module> MakeInvitesModule();

}  // namespace qz
