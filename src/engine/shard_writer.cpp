#include "engine/shard_writer.hpp"

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/time.hpp"
#include "engine/module.hpp"
#include "engine/recurrence.hpp"

namespace qz {
namespace {

const SystemClock kSystemClock;

std::string CauseOf(const Event& e) { return e.platform + ":" + e.id; }

// The keys of the timers of playbook schedules begin with this (then the schedule's name).
constexpr std::string_view kPlaybookTimerPrefix = "schedule:";

std::string PlaybookTimerKey(CommunityId community, std::string_view key) {
  std::string k = std::to_string(community);
  k += '\x1f';
  k += key;
  return k;
}

}  // namespace

// The context a module sees for one event. It buffers the module's emissions; the writer routes
// them after every module has seen the event.
class ShardWriter::Context final : public ModuleContext {
 public:
  struct Emitted {
    Action action;
    std::string rule;
  };

  Context(ShardWriter& writer, const Event& event, const Refs& refs)
      : writer_(writer), event_(event), refs_(refs) {}

  void Enter(const Module* module) { module_ = module; }

  const Event& event() const override { return event_; }
  const Community& community() const override {
    return *writer_.state_.FindCommunity(refs_.community);
  }
  const Group* group() const override { return writer_.state_.FindGroup(refs_.group); }
  const Member* member() const override { return writer_.state_.FindMember(refs_.member); }
  const Membership* membership() const override {
    return writer_.state_.FindMembership(refs_.group, refs_.member);
  }
  const State& state() const override { return writer_.state_; }
  const Playbook& playbook() const override {
    return writer_.playbooks_->For(community().slug);
  }
  TimeMs now() const override { return writer_.Now(); }
  bool message_deleted() const override { return deleted_; }

  void Act(Action action, std::string_view rule) override {
    if (action.type == ActionType::kDeleteMessage &&
        (action.reply_to.empty() || action.reply_to == event_.id)) {
      deleted_ = true;
    }
    std::string full(module_->name());
    if (!rule.empty()) {
      full += '.';
      full += rule;
    }
    actions.push_back({std::move(action), std::move(full)});
  }
  void Derive(Event event) override { derived.push_back({std::move(event), std::string(module_->name())}); }

  std::optional<std::string> Get(std::string_view key) const override {
    const std::string* v = writer_.state_.FindModuleState(refs_.community, module_->name(), key);
    return v ? std::optional<std::string>(*v) : std::nullopt;
  }
  void Put(std::string_view key, std::string value) override {
    writer_.state_.PutModuleState(refs_.community, module_->name(), key, std::move(value));
  }

  std::vector<Emitted> actions;
  struct DerivedEvent {
    Event event;
    std::string module;
  };
  std::vector<DerivedEvent> derived;

 private:
  ShardWriter& writer_;
  const Event& event_;
  const Refs& refs_;
  const Module* module_ = nullptr;
  bool deleted_ = false;
};

ShardWriter::ShardWriter(Store& store, State state, EngineOptions options)
    : store_(store),
      state_(std::move(state)),
      options_(std::move(options)),
      playbooks_(options_.playbooks ? options_.playbooks : std::make_shared<const PlaybookSet>()) {}

ShardWriter::~ShardWriter() = default;

Result<std::unique_ptr<ShardWriter>> ShardWriter::Open(Store& store, EngineOptions options) {
  auto snapshot = store.LoadState();
  if (!snapshot.ok()) return snapshot.status();
  std::unique_ptr<ShardWriter> writer(
      new ShardWriter(store, State(std::move(*snapshot)), std::move(options)));
  // The playbook schedules' timers, community by community, read by their key prefix: the
  // modules' timers (a million, say) are not read at all.
  for (CommunityId c = 1; c < writer->state_.NextCommunityId(); ++c) {
    auto timers = store.FindTimers(c, kPlaybookTimerPrefix);
    if (!timers.ok()) return timers.status();
    for (auto& t : *timers) {
      std::string k = PlaybookTimerKey(t.community_id, t.key);
      writer->playbook_timers_.emplace(std::move(k), std::move(t));
    }
  }
  return writer;
}

TimeMs ShardWriter::Now() const {
  return (options_.clock ? *options_.clock : static_cast<const Clock&>(kSystemClock)).Now();
}

Status ShardWriter::Reload() {
  auto snapshot = store_.LoadState();
  if (!snapshot.ok()) return snapshot.status();
  state_ = State(std::move(*snapshot));
  return Status::Ok();
}

Result<ShardWriter::Refs> ShardWriter::Resolve(const Event& e) const {
  Refs r;
  // The shard: a known group's community wins; a group seen for the first time is registered
  // in the event's community, or the default one.
  const Group* group = e.group.empty() ? nullptr : state_.FindGroupByExternal(e.platform, e.group);
  if (group != nullptr) {
    r.community = group->community_id;
    r.group = group->id;
    if (!e.community.empty()) {
      const Community* c = state_.FindCommunity(group->community_id);
      if (c->slug != e.community) {
        return Status::Invalid(fmt::format("group '{}' on {} belongs to community '{}', not '{}'",
                                           e.group, e.platform, c->slug, e.community),
                               "community");
      }
    }
  } else {
    std::string_view slug = e.community.empty() ? kDefaultCommunity : e.community;
    if (e.community.empty() && !e.group.empty()) {
      // A group seen for the first time belongs to the community whose playbook names it.
      for (const auto& [community, playbook] : playbooks_->all()) {
        if (playbook->FindGroup(e.platform, e.group) != nullptr) {
          r.playbook_community = community;
          slug = community;
          break;
        }
      }
    }
    if (const Community* c = state_.FindCommunityBySlug(slug)) {
      r.community = c->id;
    } else {
      r.community = state_.NextCommunityId();
      r.new_community = true;
    }
    if (!e.group.empty()) {
      r.group = state_.NextGroupId();
      r.new_group = true;
    }
  }
  if (e.member.empty()) return r;  // a system event about no member
  const Identity* identity =
      r.new_community ? nullptr : state_.FindIdentity(r.community, e.platform, e.member);
  if (identity != nullptr) {
    r.member = identity->member_id;
    r.identity = identity;
  } else {
    r.member = state_.NextMemberId();
    r.new_member = true;
  }
  return r;
}

void ShardWriter::Materialize(const Event& e, const Refs& r) {
  if (r.new_community) {
    Community c;
    c.slug = e.community.empty() ? std::string(kDefaultCommunity) : e.community;
    c.name = c.slug;
    c.created_at = e.time;
    state_.AddCommunity(std::move(c));
  }
  if (r.new_group) {
    Group g;
    g.community_id = r.community;
    g.platform = e.platform;
    g.external_id = e.group;
    g.name = e.group_name.empty() ? e.group : e.group_name;
    g.time_zone = state_.FindCommunity(r.community)->time_zone;
    g.first_seen = e.time;
    g.last_activity = e.time;
    state_.AddGroup(std::move(g));
  }
  if (r.new_member) {
    Member m;
    m.community_id = r.community;
    m.display_name = e.name.empty() ? e.member : e.name;
    m.first_seen = e.time;
    m.last_seen = e.time;
    state_.AddMember(std::move(m));
    state_.PutIdentity(Identity{r.community, e.platform, e.member, r.member, e.name});
  }
}

MemberId ShardWriter::EnsureMember(CommunityId community, const std::string& platform,
                                   const std::string& external_id, TimeMs seen) {
  if (const Identity* i = state_.FindIdentity(community, platform, external_id)) return i->member_id;
  Member m;
  m.community_id = community;
  m.display_name = external_id;
  m.first_seen = seen;
  m.last_seen = seen;
  const MemberId id = state_.AddMember(std::move(m)).id;
  state_.PutIdentity(Identity{community, platform, external_id, id, {}});
  return id;
}

// The effect of one new (non-duplicate) event on the materialised state. Events may arrive out
// of time order, so first/last times are min/max rather than "latest wins".
void ShardWriter::Apply(const Event& e, const Refs& r) {
  if (r.member == kNoId) {
    if (r.group != kNoId) {
      Group& g = state_.MutableGroup(r.group);
      g.last_activity = std::max(g.last_activity, e.time);
    }
    return;
  }
  {
    Member& m = state_.MutableMember(r.member);
    m.first_seen = std::min(m.first_seen, e.time);
    m.last_seen = std::max(m.last_seen, e.time);
    if (!e.name.empty() && m.display_name != e.name) m.display_name = e.name;
  }
  if (!e.name.empty()) {
    // A new member's identity was created with this name.
    if (r.identity != nullptr && r.identity->name != e.name) {
      state_.MutableIdentity(*r.identity).name = e.name;
    }
    state_.AddName(r.member, e.name, e.time);
  }

  Membership* ms = nullptr;
  if (r.group != kNoId) {
    Group& g = state_.MutableGroup(r.group);
    g.last_activity = std::max(g.last_activity, e.time);
    if (!e.group_name.empty() && g.name != e.group_name) g.name = e.group_name;
    bool created = false;
    ms = &state_.MutableMembership(r.group, r.member, &created);
    if (created) {
      // Seen in the group before (or without) a join event: evidently a member.
      ms->joined_at = e.time;
      ms->active = e.type != EventType::kMemberLeft;
      if (ms->active) ++state_.MutableGroup(r.group).member_count;
    } else if (e.type != EventType::kMemberLeft && e.type != EventType::kMemberJoined &&
               !ms->active && e.time > ms->left_at) {
      // Active after leaving: they came back without a join event reaching us.
      ms->active = true;
      ++state_.MutableGroup(r.group).member_count;
    }
    if (e.role) ms->role = *e.role;
  }

  switch (e.type) {
    case EventType::kMessage: {
      Member& m = state_.MutableMember(r.member);
      ++m.messages;
      m.last_message = std::max(m.last_message, e.time);
      ms->messages++;
      ms->last_message = std::max(ms->last_message, e.time);
      ++state_.MutableGroup(r.group).messages;
      break;
    }
    case EventType::kMemberJoined: {
      Group& g = state_.MutableGroup(r.group);
      ++g.joins;
      if (!ms->active) {
        ms->active = true;
        ++g.member_count;
      }
      ms->joined_at = std::min(ms->joined_at, e.time);
      MemberId inviter = kNoId;
      if (!e.via_inviter.empty() && e.via_inviter != e.member) {
        inviter = EnsureMember(r.community, e.platform, e.via_inviter, e.time);
      }
      // AddMember above may have moved members_: take references only after it.
      if (ms->via_code.empty() && ms->inviter_id == kNoId) {
        ms->via_code = e.via_code;
        ms->inviter_id = inviter;
      }
      Member& m = state_.MutableMember(r.member);
      if (m.referrer_id == kNoId && m.channel.empty() && (inviter != kNoId || !e.via_code.empty())) {
        m.referrer_id = inviter;
        m.channel = e.via_code;
        if (inviter != kNoId) ++state_.MutableMember(inviter).invited;
      }
      break;
    }
    case EventType::kMemberLeft: {
      if (ms->active) {
        ms->active = false;
        Group& g = state_.MutableGroup(r.group);
        --g.member_count;
        ++g.leaves;
      }
      ms->left_at = std::max(ms->left_at, e.time);
      ms->left_reason = e.reason;
      break;
    }
    case EventType::kCheckin: {
      Member& m = state_.MutableMember(r.member);
      ++m.checkins;
      m.last_checkin = std::max(m.last_checkin, e.time);
      break;
    }
    case EventType::kLinkClick:
      ++state_.MutableMember(r.member).link_clicks;
      break;
    case EventType::kOrder: {
      Member& m = state_.MutableMember(r.member);
      ++m.orders;
      m.order_amount_e4 += e.amount_e4;
      break;
    }
    case EventType::kTagChanged:
      if (e.tag_op == TagOp::kAdd) {
        if (!state_.HasTag(r.member, e.tag)) state_.AddTag(MemberTag{r.member, e.tag, e.time});
      } else if (state_.HasTag(r.member, e.tag)) {
        state_.RemoveTag(r.member, e.tag);
      }
      break;
    case EventType::kPointsChanged:
      state_.MutableMember(r.member).points += e.points;
      break;
    case EventType::kTimer:
    case EventType::kActionDone:
    case EventType::kActionFailed:
    case EventType::kPlaybookApplied:
      break;  // about the engine, not the member: their presence is all they change
  }
}

Result<ItemOutcome> ShardWriter::Process(StoreTxn& txn, const Event& event,
                                         const std::string& json, int depth,
                                         BatchEffects& effects) {
  auto refs = Resolve(event);
  if (!refs.ok()) return ItemOutcome{Outcome::kRejected, refs.status()};
  if (!refs->playbook_community.empty()) {
    // Rare (the first event of a group a playbook claims): log the routing decision itself.
    Event routed = event;
    routed.community = refs->playbook_community;
    return Process(txn, routed, EventToJson(routed), depth, effects);
  }
  const Event& e = event;
  StoredEvent row;
  row.platform = e.platform;
  row.source_id = e.id;
  row.community_id = refs->community;
  row.group_id = refs->group;
  row.member_id = refs->member;
  row.type = e.type;
  row.time = e.time;
  row.json = json;
  if (const Member* m = state_.FindMember(refs->member); m != nullptr) {
    row.member_prev_seq = m->last_event_seq;
  }
  auto appended = txn.AppendEvent(row);
  if (!appended.ok()) return appended.status();
  if (!*appended) return ItemOutcome{Outcome::kDuplicate, Status::Ok()};
  Materialize(e, *refs);
  if (refs->member != kNoId) state_.MutableMember(refs->member).last_event_seq = row.seq;
  Apply(e, *refs);
  if (!options_.modules.empty()) QZ_RETURN_IF_ERROR(RunModules(txn, e, *refs, depth, effects));
  return ItemOutcome{Outcome::kAppended, Status::Ok()};
}

Status ShardWriter::RunModules(StoreTxn& txn, const Event& e, const Refs& refs, int depth,
                               BatchEffects& effects) {
  Context ctx(*this, e, refs);
  for (Module* m : options_.modules) {
    ctx.Enter(m);
    m->OnEvent(ctx);
  }
  std::vector<Event> derived;
  for (size_t i = 0; i < ctx.actions.size(); ++i) {
    Action action = std::move(ctx.actions[i].action);
    action.rule = std::move(ctx.actions[i].rule);
    QZ_RETURN_IF_ERROR(Route(txn, e, refs, std::move(action), static_cast<int>(i), derived, effects));
  }
  for (size_t i = 0; i < ctx.derived.size(); ++i) {
    Event d = std::move(ctx.derived[i].event);
    d.id = fmt::format("{}#{}.{}", CauseOf(e), ctx.derived[i].module, i);
    derived.push_back(std::move(d));
  }
  for (Event& d : derived) {
    if (depth + 1 > options_.max_derived_depth) {
      spdlog::warn("derived event {} dropped: derivation deeper than {}", d.id,
                   options_.max_derived_depth);
      continue;
    }
    // A derived event belongs to its cause's community and happens at the cause's time.
    const Community* c = state_.FindCommunity(refs.community);
    d.community = c->slug;
    d.time = e.time;
    d.time_offset = e.time_offset;
    if (d.platform.empty()) d.platform = e.platform;
    const std::string json = EventToJson(d);
    auto outcome = Process(txn, d, json, depth + 1, effects);
    if (!outcome.ok()) return outcome.status();
    if (outcome->outcome == Outcome::kRejected) {
      spdlog::warn("derived event {} rejected: {}", d.id, outcome->error.ToString());
    } else if (outcome->outcome == Outcome::kAppended) {
      ++effects.derived_events;
    }
  }
  return Status::Ok();
}

// Turns one emitted action into what it means: an outbox record, an operator task, a timer, or
// a derived event. Every one of them carries its cause and rule.
Status ShardWriter::Route(StoreTxn& txn, const Event& cause, const Refs& refs, Action a, int n,
                          std::vector<Event>& derived, BatchEffects& effects) {
  const Community* community = state_.FindCommunity(refs.community);
  a.community_id = refs.community;
  a.community = community->slug;
  a.cause_event = CauseOf(cause);
  if (a.platform.empty()) a.platform = cause.platform;
  const bool same_platform = a.platform == cause.platform;
  if (a.group.empty() && a.group_id == kNoId && same_platform && a.type != ActionType::kSendDirect) {
    a.group = cause.group;
  }
  if (a.group_id == kNoId && !a.group.empty()) {
    if (const Group* g = state_.FindGroupByExternal(a.platform, a.group)) a.group_id = g->id;
  }
  if (a.member.empty() && a.member_id == kNoId && same_platform) {
    a.member = cause.member;
    a.member_id = refs.member;
  }
  if (a.member_id == kNoId && !a.member.empty()) {
    if (const Identity* i = state_.FindIdentity(refs.community, a.platform, a.member)) {
      a.member_id = i->member_id;
    }
  }
  const TimeMs now = Now();

  auto open_task = [&](std::string kind, std::string reason) -> Status {
    OperatorTask task;
    task.community_id = a.community_id;
    task.group_id = a.group_id;
    task.member_id = a.member_id;
    task.kind = std::move(kind);
    task.reason = std::move(reason);
    task.evidence = a.evidence.empty() ? a.cause_event : a.evidence;
    task.cause_event = a.cause_event;
    task.rule = a.rule;
    task.created_at = now;
    QZ_RETURN_IF_ERROR(txn.AddTask(task));
    ++effects.tasks;
    return Status::Ok();
  };

  if (IsPlatformAction(a.type)) {
    auto caps = options_.capabilities.find(a.platform);
    if (caps == options_.capabilities.end() || !caps->second.Has(a.type)) {
      // Degrade explicitly: a human does what the platform cannot.
      const std::string why =
          caps == options_.capabilities.end()
              ? fmt::format("no adapter serves platform '{}'", a.platform)
              : fmt::format("platform '{}' cannot {}", a.platform, ActionTypeName(a.type));
      return open_task(fmt::format("degraded:{}", ActionTypeName(a.type)),
                       a.text.empty() ? why : fmt::format("{}: {}", why, a.text));
    }
    OutboxRecord record;
    record.action = std::move(a);
    record.idempotency_key = fmt::format("{}#{}#{}", record.action.cause_event, record.action.rule, n);
    record.status = ActionStatus::kPending;
    record.next_attempt_at = now;
    record.created_at = now;
    record.updated_at = now;
    QZ_RETURN_IF_ERROR(txn.AddAction(record));
    effects.actions.push_back(std::move(record));
    return Status::Ok();
  }

  switch (a.type) {
    case ActionType::kSetTag:
    case ActionType::kAwardPoints: {
      if (a.member.empty()) {
        spdlog::warn("{} from {} names no member; ignored", ActionTypeName(a.type), a.rule);
        return Status::Ok();
      }
      Event d;
      d.platform = a.platform;
      d.member = a.member;
      if (a.type == ActionType::kSetTag) {
        d.type = EventType::kTagChanged;
        d.tag = a.tag;
        d.tag_op = a.remove_tag ? TagOp::kRemove : TagOp::kAdd;
      } else {
        d.type = EventType::kPointsChanged;
        d.points = a.points;
        d.text = a.text;
      }
      d.id = fmt::format("{}#{}#{}", a.cause_event, a.rule, n);
      derived.push_back(std::move(d));
      return Status::Ok();
    }
    case ActionType::kScheduleTimer: {
      TimerRecord t;
      t.community_id = a.community_id;
      t.community = a.community;
      t.key = a.timer;
      t.time_zone = community->time_zone;
      t.due = a.due;
      t.payload = a.payload;
      t.cause_event = a.cause_event;
      QZ_RETURN_IF_ERROR(txn.PutTimer(t));
      effects.timers.push_back(std::move(t));
      return Status::Ok();
    }
    case ActionType::kOpenTask:
      return open_task("review", a.text);
    default:
      return Status::Internal(fmt::format("unrouted action {}", ActionTypeName(a.type)));
  }
}

Result<BatchResult> ShardWriter::ApplyBatch(std::span<const WriteItem> items,
                                            std::span<const OutboxUpdate> outbox_updates) {
  BatchResult result;
  result.outcomes.resize(items.size());
  auto fail = [&](Status status) -> Result<BatchResult> {
    // The transaction rolled back (or never began); the state may hold effects of the batch.
    if (Status reload = Reload(); !reload.ok()) {
      return Status::Unavailable(fmt::format("{}; reloading the state also failed: {}",
                                             status.message(), reload.message()));
    }
    return status;
  };
  auto txn = store_.Begin();
  if (!txn.ok()) return fail(txn.status());
  if (!outbox_updates.empty()) {
    if (Status st = (*txn)->UpdateActions(outbox_updates, result.missing_actions); !st.ok()) {
      return fail(st);
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    auto outcome = Process(**txn, *items[i].event, *items[i].json, 0, result.effects);
    if (!outcome.ok()) return fail(outcome.status());
    result.outcomes[i] = std::move(*outcome);
  }
  if (Status st = state_.Flush(**txn); !st.ok()) return fail(st);
  if (Status st = (*txn)->Commit(); !st.ok()) return fail(st);
  return result;
}

Result<BatchEffects> ShardWriter::ApplyPlaybook(std::shared_ptr<const Playbook> playbook) {
  BatchEffects effects;
  auto txn = store_.Begin();
  if (!txn.ok()) return txn.status();
  const TimeMs now = Now();
  if (state_.FindCommunityBySlug(playbook->community) == nullptr) {
    // Created through the log, like every entity, so a replay creates it too.
    Event created;
    created.id = "playbook:" + playbook->community + ":created";
    created.type = EventType::kPlaybookApplied;
    created.time = now;
    created.platform = "qunzhu";
    created.community = playbook->community;
    auto outcome = Process(**txn, created, EventToJson(created), 0, effects);
    if (!outcome.ok()) return outcome.status();
  }
  const CommunityId community_id = state_.FindCommunityBySlug(playbook->community)->id;
  std::map<std::string, TimerRecord> next_timers;  // this community's playbook timers after
  for (const ScheduleSettings& s : playbook->schedules) {
    const std::string key = std::string(kPlaybookTimerPrefix) + s.name;
    const std::string map_key = PlaybookTimerKey(community_id, key);
    auto existing = playbook_timers_.find(map_key);
    if (existing != playbook_timers_.end() && existing->second.rule == s.rule &&
        existing->second.time_zone == playbook->time_zone && existing->second.due != 0) {
      next_timers.emplace(map_key, existing->second);  // unchanged: keep its pending firing
      continue;
    }
    auto rule = Recurrence::Parse(s.rule, playbook->time_zone);
    if (!rule.ok()) return Status::Invalid(rule.status().message(), "schedules." + s.name + ".rule");
    TimerRecord t;
    if (existing != playbook_timers_.end()) t.id = existing->second.id;
    t.community_id = community_id;
    t.community = playbook->community;
    t.key = key;
    t.rule = s.rule;
    t.time_zone = playbook->time_zone;
    t.due = rule->NextAfter(now);
    t.payload = fmt::format(R"({{"schedule":{}}})", JsonString(s.name));
    t.cause_event = "playbook:" + playbook->community;
    QZ_RETURN_IF_ERROR((*txn)->PutTimer(t));
    effects.timers.push_back(t);
    next_timers.emplace(map_key, std::move(t));
  }
  // Schedules that were removed: finish their timers.
  const std::string prefix = std::to_string(community_id) + '\x1f';
  for (auto& [map_key, t] : playbook_timers_) {
    if (!map_key.starts_with(prefix) || next_timers.contains(map_key)) continue;
    TimerRecord done = t;
    done.due = 0;
    QZ_RETURN_IF_ERROR((*txn)->PutTimer(done));
    effects.timers.push_back(done);
  }
  if (Status st = state_.Flush(**txn); !st.ok()) {
    (void)Reload();
    return st;
  }
  if (Status st = (*txn)->Commit(); !st.ok()) {
    (void)Reload();
    return st;
  }
  std::erase_if(playbook_timers_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  playbook_timers_.merge(next_timers);
  playbooks_ = playbooks_->With(std::move(playbook));
  return effects;
}

}  // namespace qz
