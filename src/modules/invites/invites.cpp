#include "modules/invites/invites.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/payload.hpp"
#include "core/token.hpp"
#include "core/text/normalize.hpp"
#include "engine/module_text.hpp"
#include "engine/state.hpp"
#include "modules/invites/tables.hpp"

namespace qz {

using invites::AskRow;
using invites::CodeRow;
using invites::JoinRow;
using invites::OverflowRow;

bool IsInviteCode(std::string_view code) { return IsToken(code, 3, 32); }

const LiveCode* InvitesConfig::FindLive(std::string_view code) const {
  for (const LiveCode& l : live) {
    if (l.code == code) return &l;
  }
  return nullptr;
}

LiveChoice ChooseGroup(const LiveCode& live, const Playbook& playbook,
                       const std::function<int64_t(std::string_view platform, std::string_view id)>& members) {
  LiveChoice choice;
  for (const std::string& ref : live.groups) {
    const auto parsed = ParseGroupRef(ref);
    if (!parsed) continue;
    const GroupSettings* settings = playbook.FindGroup(parsed->platform, parsed->id);
    const int64_t capacity = settings != nullptr ? settings->capacity : kDefaultGroupCapacity;
    if (members(parsed->platform, parsed->id) < capacity) {
      choice.group = ref;
      return choice;
    }
  }
  if (!live.overflow.empty()) {
    choice.overflow_n = static_cast<int>(live.groups.size()) + 1;
    choice.overflow = live.overflow;
    const std::string n = std::to_string(choice.overflow_n);
    for (size_t at = choice.overflow.find("{n}"); at != std::string::npos; at = choice.overflow.find("{n}", at)) {
      choice.overflow.replace(at, 3, n);
      at += n.size();
    }
  }
  return choice;
}

const KeywordJoin* MatchKeyword(const InvitesConfig& config, std::string_view text,
                                const std::function<bool(std::string_view tag)>& has_tag) {
  if (config.keywords.empty() || text.size() > 256) return nullptr;  // a keyword is short
  const std::string form = text::ShortForm(text);
  for (const KeywordJoin& k : config.keywords) {
    if (std::find(k.keywords.begin(), k.keywords.end(), form) == k.keywords.end()) continue;
    if (k.tag.empty() || has_tag(k.tag)) return &k;
  }
  return nullptr;
}

namespace {

constexpr size_t kMaxChannelBytes = 64;
constexpr size_t kMaxKeywordEntries = 200;
constexpr size_t kMaxLiveCodes = 100;

std::string GroupRefOf(std::string_view platform, std::string_view id) { return fmt::format("{}:{}", platform, id); }

void CheckLiveCodes(ModuleContext& ctx, const InvitesConfig& config);

int64_t MembersOf(const ModuleContext& ctx, std::string_view platform, std::string_view id) {
  const Group* g = ctx.state().FindGroupByExternal(platform, id);
  return g != nullptr ? g->member_count : int64_t{0};
}

// A join: counted once per member and code.
Status OnJoin(ModuleContext& ctx, const InvitesConfig& config) {
  const Event& e = ctx.event();
  if (!config.live.empty()) CheckLiveCodes(ctx, config);
  if (!config.keywords.empty()) {
    if (auto ask = ctx.Find(AskRow{.member = GroupRefOf(e.platform, e.member)});
        ask && ask->joined_at == 0 && ask->group == GroupRefOf(e.platform, e.group)) {
      ask->joined_at = e.time;
      ctx.Put(*ask);
    }
  }
  if (e.via_code.empty() || e.via_code.size() > kMaxChannelBytes) return Status::Ok();
  CodeRow code = ctx.Find(CodeRow{.code = e.via_code}).value_or(CodeRow{.code = e.via_code});
  if (code.created_at == 0) {
    // Not created through the API: a live code, or a platform's own channel name (WeCom's
    // "state" of a contact-me link), counted all the same.
    code.kind = config.FindLive(e.via_code) != nullptr ? "live" : "channel";
    code.created_at = e.time;
    code.created_by = "join";
  }
  JoinRow join{.code = e.via_code, .member = GroupRefOf(e.platform, e.member)};
  if (ctx.Find(join)) return Status::Ok();  // a rejoin by the same code is not a new join
  join.group = GroupRefOf(e.platform, e.group);
  join.name = e.name;
  join.inviter = !e.via_inviter.empty() ? e.via_inviter : code.inviter;
  join.at = e.time;
  ctx.Put(join);
  ++code.joins;
  ctx.Put(code);
  return Status::Ok();
}


// "invites.create": the route checked the fields; checked again, as replay runs it too.
Status Create(ModuleContext& ctx) {
  QZ_ASSIGN_OR_RETURN(const nlohmann::json payload, EventPayload(ctx.event()));
  CodeRow row{.code = StringAt(payload, "code")};
  if (!IsInviteCode(row.code)) return Status::Invalid("not an invite code", "code");
  if (ctx.Find(row)) return Status(Code::kAlreadyExists, fmt::format("invite code '{}' exists", row.code), "code");
  row.group = StringAt(payload, "group");
  const auto ref = ParseGroupRef(row.group);
  if (!ref) return Status::Invalid("not \"platform:id\"", "group");
  row.channel = StringAt(payload, "channel");
  row.inviter = StringAt(payload, "inviter");
  row.created_by = StringAt(payload, "operator");
  row.created_at = ctx.event().time;
  ctx.Put(row);
  return Status::Ok();
}

// Every group of live code `code` is full: asks an operator for group n, once.
void AskForOverflow(ModuleContext& ctx, const std::string& code, int64_t n, const std::string& name) {
  OverflowRow row = ctx.Find(OverflowRow{.code = code}).value_or(OverflowRow{.code = code});
  if (row.n >= n) return;  // asked already
  row.n = n;
  row.at = ctx.event().time;
  ctx.Put(row);
  Action task;
  task.type = ActionType::kOpenTask;
  task.text = fmt::format("create group {} for live code {}: its {} groups are full (then add it to the live code's "
                          "groups in the playbook)",
                          name, code, n - 1);
  task.evidence = "live:" + code;
  ctx.Act(std::move(task), "overflow");
}

// "invites.overflow": a scan found every group full (the landing route).
Status Overflow(ModuleContext& ctx) {
  QZ_ASSIGN_OR_RETURN(const nlohmann::json payload, EventPayload(ctx.event()));
  const std::string code = StringAt(payload, "code");
  const std::string name = StringAt(payload, "name");
  const int64_t n = payload.contains("n") && payload["n"].is_number_integer() ? payload["n"].get<int64_t>() : 0;
  if (!IsInviteCode(code) || n <= 0 || name.empty()) return Status::Invalid("needs code, n and name", "payload");
  AskForOverflow(ctx, code, n, name);
  return Status::Ok();
}

// After a join: a live code whose groups this join filled asks for its overflow group now, before
// anyone is turned away.
void CheckLiveCodes(ModuleContext& ctx, const InvitesConfig& config) {
  const Event& e = ctx.event();
  const std::string ref = GroupRefOf(e.platform, e.group);
  for (const LiveCode& live : config.live) {
    if (std::find(live.groups.begin(), live.groups.end(), ref) == live.groups.end()) continue;
    const LiveChoice choice = ChooseGroup(live, ctx.playbook(), [&](std::string_view platform, std::string_view id) {
      return MembersOf(ctx, platform, id);
    });
    if (choice.group.empty() && choice.overflow_n > 0) AskForOverflow(ctx, live.code, choice.overflow_n, choice.overflow);
  }
}

// Answers the person who asked `k`: the invite link of the group chosen, or (a group without a
// link, as on WeChat where a person is pulled in by hand) a task for an operator to add them;
// when every group is full, a promise and the overflow task.
void HandOut(ModuleContext& ctx, const InvitesConfig& config, const KeywordJoin& k) {
  const Event& e = ctx.event();
  const LiveCode& live = k.live.empty() ? k.groups : *config.FindLive(k.live);
  const LiveChoice choice = ChooseGroup(live, ctx.playbook(), [&](std::string_view platform, std::string_view id) {
    return MembersOf(ctx, platform, id);
  });
  const Language language = ctx.playbook().language;
  AskRow ask = ctx.Find(AskRow{.member = GroupRefOf(e.platform, e.member)})
                   .value_or(AskRow{.member = GroupRefOf(e.platform, e.member)});
  ask.keyword = k.keywords.front();
  ask.group = choice.group;
  ask.at = e.time;
  ++ask.asks;
  ask.joined_at = 0;

  Action answer;
  answer.platform = e.platform;
  answer.member = e.member;
  if (IsDirectMessage(e)) {
    answer.type = ActionType::kSendDirect;
  } else {
    answer.type = ActionType::kReply;
    answer.group = e.group;
    answer.reply_to = e.id;
  }
  const auto ref = ParseGroupRef(choice.group);
  if (!ref) {
    if (choice.overflow_n > 0) AskForOverflow(ctx, live.code.empty() ? k.keywords.front() : live.code,
                                              choice.overflow_n, choice.overflow);
    static const LocalizedText kFull{"群都满员了，新群正在开，开好后发给你入群链接。",
                                     "Every group is full right now; a new one is being opened and we will send "
                                     "you its link."};
    answer.text = Pick(kFull, language);
    ctx.Put(ask);
    ctx.Act(std::move(answer), "keyword.full");
    return;
  }
  const GroupSettings* settings = ctx.playbook().FindGroup(ref->platform, ref->id);
  const TemplateVars vars = TemplateVarsFor(ctx, ref->platform, ref->id);
  ctx.Put(ask);
  if (settings != nullptr && !settings->invite.empty()) {
    static const LocalizedText kDefault{"{member.name}，这是「{group.name}」的入群链接：",
                                        "{member.name}, here is the link to join {group.name}:"};
    answer.text = Render(k.reply.empty() ? kDefault : k.reply, language, vars) + "\n" + settings->invite;
    ctx.Act(std::move(answer), "keyword");
    return;
  }
  Action task;
  task.type = ActionType::kOpenTask;
  task.text = fmt::format("add {} ({}) to group {} ({}): they asked by keyword \"{}\" and the group has no invite link",
                          vars.member_name, GroupRefOf(e.platform, e.member), vars.group_name, choice.group,
                          k.keywords.front());
  task.evidence = "keyword:" + k.keywords.front();
  ctx.Act(std::move(task), "keyword.pull");
  static const LocalizedText kPull{"{member.name}，收到！工作人员稍后拉你进「{group.name}」。",
                                   "{member.name}, got it: a staff member will add you to {group.name} shortly."};
  answer.text = Render(kPull, language, vars);
  ctx.Act(std::move(answer), "keyword");
}

// A message to the bot, or in a lobby group: a keyword asks for a group.
Status OnMessage(ModuleContext& ctx, const InvitesConfig& config) {
  const Event& e = ctx.event();
  if (config.keywords.empty() || ctx.member() == nullptr || ctx.message_deleted()) return Status::Ok();
  if (!IsDirectMessage(e) &&
      std::find(config.lobbies.begin(), config.lobbies.end(), GroupRefOf(e.platform, e.group)) == config.lobbies.end()) {
    return Status::Ok();
  }
  const MemberId member = ctx.member()->id;
  const KeywordJoin* k =
      MatchKeyword(config, e.text, [&](std::string_view tag) { return ctx.state().HasTag(member, tag); });
  if (k != nullptr) HandOut(ctx, config, *k);
  return Status::Ok();
}

void ReadKeyword(TableReader& r, const Playbook& common, const InvitesConfig& config, KeywordJoin& k) {
  std::vector<std::string> words;
  if (r.StringList("keywords", words)) {
    if (words.empty()) r.Invalid("keywords", "must not be empty");
    for (const std::string& w : words) {
      std::string form = text::ShortForm(w);
      if (form.empty() || w.size() > 64) {
        r.Invalid("keywords", fmt::format("\"{}\" is not a keyword: 1 to 64 bytes of text", Excerpt(w, 40)));
        continue;
      }
      k.keywords.push_back(std::move(form));
    }
  }
  r.Require("keywords", "the words that ask for a group, e.g. [\"入群\", \"join\"]");
  if (r.String("tag", k.tag) && (k.tag.empty() || k.tag.size() > 64)) r.Invalid("tag", "1 to 64 bytes");
  if (r.String("live", k.live)) {
    if (config.FindLive(k.live) == nullptr) {
      r.Invalid("live", fmt::format("no [[invites.live]] entry has code \"{}\"", Excerpt(k.live, 40)));
    }
    for (std::string_view key : {"group", "groups", "group_type", "overflow"}) {
      if (r.Has(key)) r.Invalid(key, "give either `live` or the groups, not both");
    }
  } else {
    (void)ReadGroupTargets(r, common, k.groups.groups);
    if (r.String("overflow", k.groups.overflow) && k.groups.overflow.find("{n}") == std::string::npos) {
      r.Invalid("overflow", "must contain {n}, the new group's number (e.g. \"上海同城·{n}群\")");
    }
  }
  k.reply = ReadText(r, "reply", TextKind::kMember);
  r.Done();
}

void ReadLive(TableReader& r, const Playbook& common, LiveCode& live) {
  if (r.String("code", live.code) && !IsInviteCode(live.code)) {
    r.Invalid("code", fmt::format("\"{}\" is not a code: use 3 to 32 of A-Z a-z 0-9 _ -", Excerpt(live.code, 40)));
  }
  r.Require("code", "the live code, e.g. \"camp\"");
  r.String("name", live.name);
  if (live.name.empty()) live.name = live.code;
  (void)ReadGroupTargets(r, common, live.groups);
  if (r.String("overflow", live.overflow) && live.overflow.find("{n}") == std::string::npos) {
    r.Invalid("overflow", "must contain {n}, the new group's number (e.g. \"7天成长营·{n}群\")");
  }
  r.Done();
}

class InvitesModule final : public Module {
 public:
  std::string_view name() const override { return "invites"; }
  std::string_view section() const override { return "invites"; }
  std::vector<TableInfo> tables() const override {
    return {DescribeTable<CodeRow>(), DescribeTable<JoinRow>(), DescribeTable<OverflowRow>(),
            DescribeTable<AskRow>()};
  }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook& common,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<InvitesConfig>();
    if (node == nullptr) return config;
    const toml::table* table = ExpectTable(*node, "invites", "a table ([invites])", problems);
    if (table == nullptr) return config;
    TableReader r(*table, "invites", problems);
    if (r.String("base_url", config->base_url)) {
      while (config->base_url.ends_with('/')) config->base_url.pop_back();
      if (!IsHttpUrl(config->base_url, 256)) {
        r.Invalid("base_url", "an http(s) URL of at most 256 bytes, e.g. \"https://qz.example.com\"");
      }
    }
    if (const toml::array* live = r.Array("live")) {
      std::map<std::string, size_t, std::less<>> seen;
      ReadTables(*live, "invites.live", "[[invites.live]]", kMaxLiveCodes, problems, [&](TableReader& lr, size_t i) {
        LiveCode code;
        ReadLive(lr, common, code);
        if (!code.code.empty() && !seen.try_emplace(code.code, i).second) {
          problems.Report(lr.table(), lr.PathOf("code"),
                          fmt::format("duplicate live code \"{}\" (first in invites.live[{}])", code.code,
                                      seen[code.code]));
        }
        config->live.push_back(std::move(code));
      });
    }
    (void)ReadGroupRefs(r, "lobbies", config->lobbies);
    if (const toml::array* keywords = r.Array("keywords")) {
      ReadTables(*keywords, "invites.keywords", "[[invites.keywords]]", kMaxKeywordEntries, problems,
                 [&](TableReader& kr, size_t) {
                   KeywordJoin k;
                   ReadKeyword(kr, common, *config, k);
                   config->keywords.push_back(std::move(k));
                 });
    }
    r.Done();
    return config;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    const auto& config = ctx.config<InvitesConfig>();
    switch (e.type) {
      case EventType::kMessage:
        return OnMessage(ctx, config);
      case EventType::kMemberJoined:
        return OnJoin(ctx, config);
      case EventType::kCommand:
        if (e.command == "invites.create") return Create(ctx);
        if (e.command == "invites.overflow") return Overflow(ctx);
        return Status::Invalid(fmt::format("unknown command '{}'", e.command), "command");
      default:
        return Status::Ok();
    }
  }
};

}  // namespace

std::unique_ptr<Module> MakeInvitesModule() { return std::make_unique<InvitesModule>(); }

}  // namespace qz
