#include "engine/shard_writer.hpp"

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/time.hpp"
#include "engine/module_registry.hpp"
#include "engine/recurrence.hpp"
#include "engine/scheduler.hpp"

namespace qz {
namespace {

const SystemClock kSystemClock;

std::string CauseOf(const Event& e) { return e.platform + ":" + e.id; }

// A module's standing timers are keyed "<module>:playbook:<name>".
std::string StandingTimerPrefix(std::string_view module) {
  return fmt::format("{}:playbook:", module);
}

// At most one operator task a module an hour for its failures (each one is logged and counted).
constexpr TimeMs kFailureTaskIntervalMs = 60 * 60 * 1000;

std::string PlaybookTimerKey(CommunityId community, std::string_view key) {
  std::string k = std::to_string(community);
  k += '\x1f';
  k += key;
  return k;
}

}  // namespace

ShardWriter::ShardWriter(Store& store, State state, EngineOptions options)
    : store_(store),
      state_(std::move(state)),
      options_(std::move(options)),
      playbooks_(options_.playbooks ? options_.playbooks : std::make_shared<const PlaybookSet>()) {
  if (options_.modules != nullptr) {
    runner_ = std::make_unique<ModuleRunner>(*options_.modules, options_.module_mode,
                                             options_.module_metrics, &store_);
  }
}

ShardWriter::~ShardWriter() = default;

namespace {

// The state the writer keeps, from the store: the rows of cold module tables stay there
// (RowLife::kCold), not read at all.
Result<State> WriterState(EventLog& store, const ModuleRegistry* modules) {
  auto snapshot = modules == nullptr ? store.LoadState()
                                     : store.LoadStateWithout([modules](std::string_view table) {
                                         return modules->IsCold(table);
                                       });
  if (!snapshot.ok()) return snapshot.status();
  return State(std::move(*snapshot));
}

}  // namespace

Result<std::unique_ptr<ShardWriter>> ShardWriter::Open(Store& store, EngineOptions options) {
  auto state = WriterState(store, options.modules);
  if (!state.ok()) return state.status();
  std::unique_ptr<ShardWriter> writer(new ShardWriter(store, std::move(*state), std::move(options)));
  // The standing timers of modules with a playbook section, community by community, read by
  // their key prefix: the modules' other timers (a million, say) are not read at all.
  const ModuleRegistry* modules = writer->options_.modules;
  for (CommunityId c = 1; modules != nullptr && c < writer->state_.NextCommunityId(); ++c) {
    for (const Module* m : modules->modules()) {
      if (m->section().empty()) continue;
      auto timers = store.FindTimers(c, StandingTimerPrefix(m->name()));
      if (!timers.ok()) return timers.status();
      for (auto& t : *timers) {
        std::string k = PlaybookTimerKey(t.community_id, t.key);
        writer->playbook_timers_.emplace(std::move(k), std::move(t));
      }
    }
  }
  return writer;
}

TimeMs ShardWriter::Now() const {
  return (options_.clock ? *options_.clock : static_cast<const Clock&>(kSystemClock)).Now();
}

Status ShardWriter::Reload() {
  auto state = WriterState(store_, options_.modules);
  if (!state.ok()) return state.status();
  state_ = std::move(*state);
  replaced_timers_.clear();  // may hold versions of a transaction that rolled back
  return Status::Ok();
}

void ShardWriter::NotePut(const TimerRecord& t) {
  if (t.version < 2) return;  // new: no firing of it can be older
  // Bounded (about 40 MB at most): past the bound, forgetting only lets a stale firing through.
  if (replaced_timers_.size() >= (size_t{1} << 20)) replaced_timers_.clear();
  replaced_timers_[t.id] = t.version;  // also when finished: an older firing must not fire
}

Result<ShardWriter::Refs> ShardWriter::Resolve(const Event& e) const {
  Refs r;
  if (e.type == EventType::kGroupBound && state_.FindCommunityBySlug(e.to) == nullptr) {
    return Status::Invalid(fmt::format("no community '{}' (a playbook creates one)", e.to), "to");
  }
  // The shard: a known group's community wins; a group seen for the first time is registered
  // in the event's community, or the default one.
  const Group* group = e.group.empty() ? nullptr : state_.FindGroupByExternal(e.platform, e.group);
  if (e.type == EventType::kGroupMigrated) {
    const Group* target = state_.FindGroupByExternal(e.platform, e.to);
    if (group == nullptr && target != nullptr) {
      group = target;  // told again (Telegram reports a migration in both chats): nothing to do
    } else if (group != nullptr && target != nullptr) {
      return Status::Invalid(fmt::format("group '{}' on {} is already known: two groups with "
                                         "their own history are not merged",
                                         e.to, e.platform),
                             "to");
    }
  }
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
    // A group bound before it was seen starts in its community.
    if (e.type == EventType::kGroupBound && e.community.empty()) slug = e.to;
    if (e.community.empty() && IsDirectMessage(e)) {
      // A private chat names no community: the one where this person was last seen.
      TimeMs last = -1;
      for (CommunityId id = 1; id < state_.NextCommunityId(); ++id) {
        const Identity* i = state_.FindIdentity(id, e.platform, e.member);
        const Member* m = i != nullptr ? state_.FindMember(i->member_id) : nullptr;
        if (m != nullptr && m->last_seen > last) {
          last = m->last_seen;
          slug = state_.FindCommunity(id)->slug;
        }
      }
    }
    if (e.community.empty() && !e.group.empty() && e.type != EventType::kGroupBound) {
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
    int64_t sum = 0;
    if (e.type == EventType::kOrder &&
        __builtin_add_overflow(state_.FindMember(r.member)->order_amount_e4, e.amount_e4, &sum)) {
      return Status::Invalid("the member's order total would overflow; the amount is refused",
                             "amount");
    }
  } else {
    r.member = state_.NextMemberId();
    r.new_member = true;
  }
  return r;
}

Result<ItemOutcome> ShardWriter::Process(StoreTxn& txn, const Event& event,
                                         const std::string& json, int depth,
                                         BatchEffects& effects, const PreparedEvent* prepared) {
  if (event.type == EventType::kTimer && !replaced_timers_.empty()) {
    if (auto ref = ParseTimerEventId(event.id)) {
      auto it = replaced_timers_.find(ref->id);
      if (it != replaced_timers_.end() && ref->version < it->second) {
        return ItemOutcome{Outcome::kRejected,
                           Status::Invalid(fmt::format("a stale firing: timer {} was replaced (version {}) "
                                                       "before this firing of version {} was logged",
                                                       ref->id, it->second, ref->version),
                                           "timer")};
      }
    }
  }
  auto refs = Resolve(event);
  if (!refs.ok()) return ItemOutcome{Outcome::kRejected, refs.status()};
  if (!refs->playbook_community.empty()) {
    // Rare (the first event of a group a playbook claims): log the routing decision itself.
    Event routed = event;
    routed.community = refs->playbook_community;
    return Process(txn, routed, EventToJson(routed), depth, effects, prepared);
  }
  const Event& e = event;
  if (e.type == EventType::kMemberSynced && SyncChangesNothing(state_, e, *refs)) {
    // Each sync lists every member again (its ids are new each time, so a role that changes
    // back is seen): only what it changes enters the log.
    return ItemOutcome{Outcome::kDuplicate, Status::Ok()};
  }
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
  if (const Group* g = state_.FindGroup(refs->group); g != nullptr) {
    row.group_prev_seq = g->last_event_seq;
  }
  auto appended = txn.AppendEvent(row);
  if (!appended.ok()) return appended.status();
  if (!*appended) return ItemOutcome{Outcome::kDuplicate, Status::Ok()};
  Materialize(state_, e, *refs);
  if (refs->member != kNoId) state_.MutableMember(refs->member).last_event_seq = row.seq;
  if (refs->group != kNoId) state_.MutableGroup(refs->group).last_event_seq = row.seq;
  TimeMs previous_message = 0;
  if (e.type == EventType::kMessage && runner_ != nullptr) {
    if (const Membership* m = state_.FindMembership(refs->group, refs->member)) {
      previous_message = m->last_message;
    }
  }
  ApplyEvent(state_, e, *refs);
  if (runner_ != nullptr) {
    QZ_RETURN_IF_ERROR(RunModules(txn, e, *refs, previous_message, depth, effects, prepared));
  }
  return ItemOutcome{Outcome::kAppended, Status::Ok()};
}

Status ShardWriter::RunModules(StoreTxn& txn, const Event& e, const Refs& refs,
                               TimeMs previous_message, int depth, BatchEffects& effects,
                               const PreparedEvent* prepared) {
  ModuleEmissions out = runner_->Run(
      state_, *playbooks_, e, {refs.community, refs.group, refs.member, previous_message}, Now(),
      prepared);
  for (const ModuleEmissions::Failure& f : out.failures) {
    QZ_RETURN_IF_ERROR(ReportModuleFailure(txn, e, refs, f, effects));
  }
  if (runner_->mode() == ModuleMode::kReplay) return Status::Ok();  // the rest is in the log
  std::vector<Event> derived;
  for (size_t i = 0; i < out.actions.size(); ++i) {
    QZ_RETURN_IF_ERROR(
        Route(txn, e, refs, std::move(out.actions[i]), static_cast<int>(i), derived, effects));
  }
  for (size_t i = 0; i < out.derived.size(); ++i) {
    Event d = std::move(out.derived[i].event);
    d.id = fmt::format("{}#{}.{}", CauseOf(e), out.derived[i].module, i);
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

TimeMs ShardWriter::QuietUntil(const Playbook& playbook, ActionType type, TimeMs now) {
  if (type != ActionType::kSendMessage && type != ActionType::kSendDirect) return now;
  return QuietHoursEnd(playbook.quiet_start, playbook.quiet_end, playbook.time_zone, now);
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

  // History being imported is not acted on again: only what changes the state is kept.
  if (runner_->mode() == ModuleMode::kImport && a.type != ActionType::kSetTag &&
      a.type != ActionType::kAwardPoints) {
    return Status::Ok();
  }
  if (IsPlatformAction(a.type) && a.group_id != kNoId &&
      state_.FindGroup(a.group_id)->bot_left_at != 0) {
    // The bot was removed from the group (bot_removed): the platform would refuse it.
    spdlog::info("{} from {} for group {} on {} not sent: the bot is not in the group",
                 ActionTypeName(a.type), a.rule, a.group, a.platform);
    return Status::Ok();
  }
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
    record.next_attempt_at = QuietUntil(playbooks_->For(community->slug), record.action.type, now);
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
      NotePut(t);
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
    auto outcome = Process(**txn, *items[i].event, *items[i].json, 0, result.effects,
                           items[i].prepared);
    if (!outcome.ok()) return fail(outcome.status());
    result.outcomes[i] = std::move(*outcome);
  }
  if (Status st = state_.Flush(**txn); !st.ok()) return fail(st);
  if (Status st = (*txn)->Commit(); !st.ok()) return fail(st);
  return result;
}

Status ShardWriter::ReportModuleFailure(StoreTxn& txn, const Event& cause, const Refs& refs,
                                        const ModuleEmissions::Failure& failure,
                                        BatchEffects& effects) {
  if (runner_->mode() != ModuleMode::kLive) return Status::Ok();  // logged and counted only
  const TimeMs now = Now();
  auto [last, first] = failure_task_at_.try_emplace(failure.module, now);
  if (!first && now - last->second < kFailureTaskIntervalMs) return Status::Ok();
  last->second = now;
  OperatorTask task;
  task.community_id = refs.community;
  task.group_id = refs.group;
  task.member_id = refs.member;
  task.kind = "module_failed:" + failure.module;
  task.reason = fmt::format("module {} failed on this event and did nothing for it: {}",
                            failure.module, failure.message);
  task.evidence = CauseOf(cause);
  task.cause_event = CauseOf(cause);
  task.rule = failure.module;
  task.created_at = now;
  QZ_RETURN_IF_ERROR(txn.AddTask(task));
  ++effects.tasks;
  return Status::Ok();
}

// The community `slug`, created through the log (like every entity, so a replay creates it
// too) when it is new.
Result<CommunityId> ShardWriter::EnsureCommunity(StoreTxn& txn, std::string_view slug,
                                                 BatchEffects& effects) {
  if (const Community* c = state_.FindCommunityBySlug(slug)) return c->id;
  Event created;
  created.id = fmt::format("playbook:{}:created", slug);
  created.type = EventType::kPlaybookApplied;
  created.time = Now();
  created.platform = "qunzhu";
  created.community = std::string(slug);
  auto outcome = Process(txn, created, EventToJson(created), 0, effects);
  if (!outcome.ok()) return outcome.status();
  const Community* c = state_.FindCommunityBySlug(slug);
  if (c == nullptr) return Status::Internal(fmt::format("community '{}' was not created", slug));
  return c->id;
}

Status ShardWriter::OpenTask(std::string_view slug, std::string kind, std::string reason) {
  BatchEffects effects;
  auto txn = store_.Begin();
  if (!txn.ok()) return txn.status();
  auto community = EnsureCommunity(**txn, slug, effects);
  Status st = community.status();
  if (st.ok()) {
    OperatorTask task;
    task.community_id = *community;
    task.kind = std::move(kind);
    task.reason = std::move(reason);
    task.created_at = Now();
    st = (*txn)->AddTask(task);
  }
  if (st.ok()) st = state_.Flush(**txn);
  if (st.ok()) st = (*txn)->Commit();
  if (!st.ok()) (void)Reload();
  return st;
}

Result<BatchEffects> ShardWriter::ApplyPlaybook(std::shared_ptr<const Playbook> playbook,
                                                std::string_view toml) {
  BatchEffects effects;
  auto txn = store_.Begin();
  if (!txn.ok()) return txn.status();
  auto fail = [&](Status st) -> Result<BatchEffects> {
    (void)Reload();  // the community may have been created in memory
    return st;
  };
  auto community = EnsureCommunity(**txn, playbook->community, effects);
  if (!community.ok()) return fail(community.status());
  const CommunityId community_id = *community;
  if (!toml.empty()) {
    Status st = (*txn)->PutPlaybook({playbook->community, std::string(toml), Now()});
    if (!st.ok()) return fail(st);
  }
  const TimeMs now = Now();
  std::map<std::string, TimerRecord> next_timers;  // this community's standing timers after
  const auto modules = options_.modules ? options_.modules->modules() : std::span<Module* const>();
  for (const Module* m : modules) {
    for (const StandingTimer& s : m->StandingTimers(*playbook)) {
      const std::string key = StandingTimerPrefix(m->name()) + s.name;
      const std::string map_key = PlaybookTimerKey(community_id, key);
      auto existing = playbook_timers_.find(map_key);
      if (existing != playbook_timers_.end() && existing->second.rule == s.rule &&
          existing->second.time_zone == playbook->time_zone &&
          existing->second.payload == s.payload && existing->second.due != 0) {
        next_timers.emplace(map_key, existing->second);  // unchanged: keep its pending firing
        continue;
      }
      // An empty rule: once, now (the playbook asks for it for the first time, or changed it).
      TimeMs due = now;
      if (!s.rule.empty()) {
        auto rule = Recurrence::Parse(s.rule, playbook->time_zone);
        if (!rule.ok()) {
          return fail(Status::Invalid(fmt::format("module {} timer {}: {}", m->name(), s.name,
                                                  rule.status().message()),
                                      std::string(m->section())));
        }
        due = rule->NextAfter(now);
      }
      // A one-shot already past (a course session last month) that this writer does not hold
      // pending: nothing to fire and nothing to finish, so nothing to write.
      if (due == 0 && existing == playbook_timers_.end()) continue;
      TimerRecord t;
      if (existing != playbook_timers_.end()) t.id = existing->second.id;
      t.community_id = community_id;
      t.community = playbook->community;
      t.key = key;
      t.rule = s.rule;
      t.time_zone = playbook->time_zone;
      t.due = due;
      t.payload = s.payload;
      t.cause_event = "playbook:" + playbook->community;
      if (Status st = (*txn)->PutTimer(t); !st.ok()) return fail(st);
      NotePut(t);
      effects.timers.push_back(t);
      next_timers.emplace(map_key, std::move(t));
    }
  }
  // Standing timers no longer asked for: finish them.
  const std::string prefix = std::to_string(community_id) + '\x1f';
  for (auto& [map_key, t] : playbook_timers_) {
    if (!map_key.starts_with(prefix) || next_timers.contains(map_key)) continue;
    TimerRecord done = t;
    done.due = 0;
    if (Status st = (*txn)->PutTimer(done); !st.ok()) return fail(st);
    NotePut(done);
    effects.timers.push_back(done);
  }
  if (Status st = state_.Flush(**txn); !st.ok()) return fail(st);
  if (Status st = (*txn)->Commit(); !st.ok()) return fail(st);
  std::erase_if(playbook_timers_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  playbook_timers_.merge(next_timers);
  playbooks_ = playbooks_->With(std::move(playbook));
  return effects;
}

}  // namespace qz
