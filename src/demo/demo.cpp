#include "demo/demo.hpp"

#include "demo/demo_internal.hpp"

namespace qz {

TimeMs RecentDemoStart(int days, TimeMs now) {
  constexpr TimeMs kDay = 86'400'000;
  constexpr TimeMs kOffset = 8 * 3'600'000;  // the demo's days are days of +08:00
  const TimeMs today = (now + kOffset) / kDay * kDay - kOffset;  // now is after 1970
  return today - static_cast<TimeMs>(days) * kDay;
}

DemoGenerator::DemoGenerator(DemoOptions options) : impl_(std::make_unique<Impl>(options)) {}
DemoGenerator::~DemoGenerator() = default;
bool DemoGenerator::Next(Event& out) { return impl_->Next(out); }

// ---------------------------------------------------------------------------------------------
// Construction: groups, staff and every member's life plan.

uint32_t DemoGenerator::Impl::AddStaff(Platform p, Role role, std::string_view name,
                                       std::string_view wecom_id) {
  Staff s{p, role, {}, std::string(name)};
  if (p == Platform::kWecom) {
    s.id = wecom_id;  // employees have readable WeCom user ids
  } else {
    AppendMemberId(s.id, p, next_num_[static_cast<size_t>(p)]++);
  }
  staff_.push_back(std::move(s));
  return static_cast<uint32_t>(staff_.size() - 1);
}

void DemoGenerator::Impl::BuildGroups(Community c, Platform p, uint32_t members,
                                      uint32_t per_group) {
  if (members == 0) return;
  const uint32_t count = (members + per_group - 1) / per_group;
  const bool camp = c == Community::kCamp;
  uint32_t owner, admin, admin2 = 0;
  if (camp) {
    owner = AddStaff(p, Role::kOwner, "王老师", "wanglaoshi");
    admin = AddStaff(p, Role::kAdmin, "运营-阿杰", "yunying.ajie");
  } else {
    const bool tg = p == Platform::kTelegram;
    owner = AddStaff(p, Role::kOwner, tg ? "星河 Xinghe" : "星河", "");
    admin = AddStaff(p, Role::kAdmin, tg ? "管理-Momo" : "管理员-小鱼", "");
    admin2 = AddStaff(p, Role::kAdmin, tg ? "小鱼干🐟" : "管理员-阿柚", "");
  }
  uint32_t assistant = 0;
  for (uint32_t k = 0; k < count; ++k) {
    Group g;
    g.community = c;
    g.platform = p;
    if (camp) {
      g.slug = p == Platform::kWecom ? "camp-" : "camp-qq-";
      AppendUint(g.slug, k + 1);
      g.name = p == Platform::kWecom ? "7天成长营·" : "7天成长营·QQ";
      AppendUint(g.name, k + 1);
      g.name += "群";
      if (k % 3 == 0) {  // one assistant looks after three groups
        const uint32_t a = k / 3;
        std::string name(kAssistantNames[a % kAssistantNames.size()]);
        if (a >= kAssistantNames.size()) AppendUint(name, a / kAssistantNames.size() + 1);
        std::string id = "zhujiao";
        AppendPadded(id, a + 1, 2);
        assistant = AddStaff(p, Role::kAssistant, name, id);
      }
      g.helper = assistant;
    } else {
      g.slug = p == Platform::kTelegram ? "fans-tg" : "fans-qq";
      g.name = p == Platform::kTelegram ? "星河粉丝团 Xinghe Fans" : "星河粉丝团";
      if (k > 0) {
        g.slug += '-';
        AppendUint(g.slug, k + 1);
        g.name += "·";
        AppendUint(g.name, k + 1);
        g.name += "群";
      }
      g.helper = admin2;
    }
    g.owner = owner;
    g.admin = admin;
    groups_.push_back(std::move(g));
  }
}

void DemoGenerator::Impl::BuildPersons(Community c, Platform p, uint32_t n, uint16_t g0,
                                       uint16_t gn, std::vector<Person>& out) {
  const bool camp = c == Community::kCamp;
  const uint32_t spammers = n >= 20 ? std::max<uint32_t>(2, n / 100) : (n >= 4 ? 1 : 0);
  const auto days = static_cast<uint32_t>(days_);
  auto clamp_day = [&](uint32_t d) { return d < days ? static_cast<uint16_t>(d) : kNever; };
  for (uint32_t j = 0; j < n; ++j) {
    Person person;
    person.group = static_cast<uint16_t>(g0 + rng_.Below(gn));
    person.name_seed = static_cast<uint32_t>(rng_.Next());
    if (j >= n - spammers) {
      // Spammers come at any time, post ads right away; two in three are removed by an admin
      // within minutes, the others linger.
      const uint32_t k = j - (n - spammers);
      person.flags = kSpammer;
      person.channel = kSpamChannel;
      person.join_day = static_cast<uint16_t>(rng_.Below(days));
      person.join_ms = kJoinHours.Sample(rng_, person.join_day == 0 ? 8 * kHourMs : 0, kDayMs);
      if (k % 3 != 2) {
        person.flags |= kRemoved;
        person.leave_day = person.join_day;
        person.leave_ms = person.join_ms + rng_.Between(10 * kMinuteMs, 90 * kMinuteMs);
        if (person.leave_ms >= kDayMs) {
          person.leave_day = clamp_day(person.join_day + 1u);
          person.leave_ms = rng_.Between(8 * kHourMs, 10 * kHourMs);
        }
      } else if (rng_.Percent(40)) {
        person.leave_day = clamp_day(person.join_day + 1u + rng_.Below(6));
        person.leave_ms = kChatHours.Sample(rng_, 0, kDayMs);
      }
      out.push_back(person);
      continue;
    }

    // Most join in the first three days (the launch push), the rest trickle in.
    if (rng_.Percent(62)) {
      const uint32_t r = rng_.Below(100);
      person.join_day = static_cast<uint16_t>(std::min<uint32_t>(r < 45   ? 0
                                                                 : r < 75 ? 1
                                                                          : 2,
                                                                 days - 1));
    } else {
      person.join_day = static_cast<uint16_t>(rng_.Below(days));
    }
    person.join_ms = kJoinHours.Sample(rng_, person.join_day == 0 ? 8 * kHourMs : 0, kDayMs);

    // Messages a day at joining: many lurk, a few carry the conversation.
    const uint32_t r = rng_.Below(1000);
    if (r < 350) {
      person.activity = rng_.Below(12);  // a message every few weeks at most
    } else if (r < 700) {
      person.activity = 77 + rng_.Below(435);  // 0.3 .. 2 a day
    } else if (r < 900) {
      person.activity = 512 + rng_.Below(1280);  // 2 .. 7
    } else {
      person.activity = 1792 + rng_.Below(4608);  // 7 .. 25
    }
    if (!camp) person.activity = person.activity * 3 / 2;  // fan groups chat more
    // Individual decay: from 0.88 a day (quiet within three weeks) to 0.998.
    person.rate = static_cast<uint16_t>(57'700 + rng_.Below(7'700));
    person.diligence =
        static_cast<uint8_t>(rng_.Percent(20) ? rng_.Below(90) : 110 + rng_.Below(146));
    if (camp) {
      person.channel = p == Platform::kWecom ? PickChannel(rng_, kCampWecomChannels)
                                             : PickChannel(rng_, kCampQqChannels);
    } else {
      person.channel = p == Platform::kTelegram ? PickChannel(rng_, kFansTgChannels)
                                                : PickChannel(rng_, kFansQqChannels);
    }
    if (rng_.Percent(20)) person.flags |= kSharer;
    if (camp && rng_.Percent(35)) person.flags |= kRename;

    // Leaving: camp members mostly after the 7 days; fans at any time. Some come back.
    if (camp ? rng_.PerMille(180) : rng_.PerMille(110)) {
      person.leave_day =
          clamp_day(person.join_day + (camp ? 5u + rng_.Below(10) : 1u + rng_.Below(30)));
      person.leave_ms = kChatHours.Sample(rng_, 0, kDayMs);
      if (person.leave_day != kNever && rng_.Percent(10)) {
        person.rejoin_day = clamp_day(person.leave_day + 1u + rng_.Below(7));
        person.rejoin_ms = kJoinHours.Sample(rng_, 0, kDayMs);
      }
    }

    // The funnel: trial lesson, the sales page (then tagged 意向客户), the paid course.
    if (camp) {
      if (rng_.Percent(28)) person.order_day = static_cast<uint8_t>(1 + rng_.Below(3));
      if (rng_.Percent(18)) {
        person.intent_day = static_cast<uint8_t>(4 + rng_.Below(4));
        if (rng_.Percent(25)) {
          person.paid_day =
              static_cast<uint8_t>(std::max<uint32_t>(person.intent_day + 1u, 6 + rng_.Below(4)));
        }
      } else if (rng_.PerMille(8)) {
        person.paid_day = static_cast<uint8_t>(6 + rng_.Below(4));
      }
    } else if (rng_.Percent(4)) {
      person.order_day = static_cast<uint8_t>(2 + rng_.Below(20));
    }
    out.push_back(person);
  }
}

DemoGenerator::Impl::Impl(const DemoOptions& options)
    : seed_(options.seed),
      days_(std::clamp(options.days, 0, kMaxDays)),
      start_(options.start),
      rng_(options.seed) {
  const auto members = static_cast<uint32_t>(std::clamp(options.members, 0, kMaxMembers));
  if (members == 0 || days_ == 0) {
    days_ = 0;
    return;
  }
  // 60% camp (three in four on WeCom), 40% fans (55% on Telegram).
  const uint32_t camp = members * 6 / 10;
  const uint32_t camp_wecom = camp * 3 / 4, camp_qq = camp - camp_wecom;
  const uint32_t fans = members - camp;
  const uint32_t fans_tg = fans * 55 / 100, fans_qq = fans - fans_tg;
  struct Segment {
    Community c;
    Platform p;
    uint32_t n;
    uint32_t per_group;  // camp groups stay small (WeCom caps customer groups); fan groups big
  };
  const std::array<Segment, 4> segments = {{{Community::kCamp, Platform::kWecom, camp_wecom, 250},
                                            {Community::kCamp, Platform::kQq, camp_qq, 250},
                                            {Community::kFans, Platform::kTelegram, fans_tg, 2000},
                                            {Community::kFans, Platform::kQq, fans_qq, 2000}}};
  std::vector<Person> drawn;
  drawn.reserve(members);
  for (const Segment& s : segments) {
    const auto g0 = static_cast<uint16_t>(groups_.size());
    BuildGroups(s.c, s.p, s.n, s.per_group);
    const auto gn = static_cast<uint16_t>(groups_.size() - g0);
    if (s.n > 0) BuildPersons(s.c, s.p, s.n, g0, gn, drawn);
  }

  // Join order. The draw index in the key makes the order total, hence the same with any
  // std::sort; the permutation is applied in place (cycle by cycle) so that the members are held
  // once, not twice, at the peak.
  const size_t n = drawn.size();
  std::vector<uint64_t> order(n);
  for (size_t i = 0; i < n; ++i) {
    order[i] = (static_cast<uint64_t>(drawn[i].JoinAbs()) << 24) | i;
  }
  std::sort(order.begin(), order.end());
  for (uint64_t& o : order) o &= 0xFFFFFF;  // position -> draw index
  for (size_t i = 0; i < n; ++i) {
    if (order[i] == i) continue;
    const Person saved = drawn[i];
    for (size_t j = i;;) {
      const size_t k = order[j];
      order[j] = j;
      if (k == i) {
        drawn[j] = saved;
        break;
      }
      drawn[j] = drawn[k];
      j = k;
    }
  }
  persons_ = std::move(drawn);

  // Numbers and referrals in join order. Per (community, platform): members who share
  // invitations, in join order.
  std::array<std::vector<uint32_t>, 6> sharers;
  for (uint32_t idx = 0; idx < n; ++idx) {
    Person& p = persons_[idx];
    const Group& g = groups_[p.group];
    p.ext_num = next_num_[static_cast<size_t>(g.platform)]++;
    auto& pool = sharers[static_cast<size_t>(g.community) * 3 + static_cast<size_t>(g.platform)];
    if (p.channel == 0) {
      // A referral: a recent sharer who joined strictly earlier on the same platform.
      uint32_t inviter = kNone;
      if (!pool.empty()) {
        const auto window = static_cast<uint32_t>(std::min<size_t>(pool.size(), 200));
        const uint32_t cand = pool[pool.size() - 1 - rng_.Below(window)];
        if (persons_[cand].JoinAbs() < p.JoinAbs()) inviter = cand;
      }
      if (inviter == kNone) {
        p.channel = 1;
      } else {
        p.inviter = inviter;
      }
    }
    if (p.flags & kSharer) pool.push_back(idx);
  }
}

// ---------------------------------------------------------------------------------------------
// Planning one day.

Plan& DemoGenerator::Impl::Push(int32_t ms, Action action, uint32_t who, uint32_t group) {
  Plan& r = plan_.emplace_back();
  r.time = day_start_ + ms;
  r.id_num = 0;
  r.seq = static_cast<uint32_t>(plan_.size() - 1);
  r.who = who;
  r.target = kNone;
  r.param = 0;
  r.group = static_cast<uint16_t>(group);
  r.action = action;
  r.variant = 0;
  r.kind = static_cast<uint8_t>(MessageKind::kText);
  r.flags = 0;
  return r;
}

void DemoGenerator::Impl::PlanDay(int d) {
  plan_.clear();
  cursor_ = 0;
  day_ = d;
  day_start_ = start_ + TimeMs{d} * kDayMs;

  // Each group's schedule for the day.
  for (Group& g : groups_) {
    g.checkins_before_summary = 0;
    g.morning = g.lesson = g.summary = g.share = -1;
    if (g.community == Community::kCamp) {
      g.morning = rng_.Between(7 * kHourMs + 30 * kMinuteMs, 8 * kHourMs + 10 * kMinuteMs);
      g.lesson = rng_.Between(19 * kHourMs + 48 * kMinuteMs, 19 * kHourMs + 55 * kMinuteMs);
      g.summary = rng_.Between(22 * kHourMs + 30 * kMinuteMs, 22 * kHourMs + 45 * kMinuteMs);
    } else if (rng_.Percent(60)) {
      g.share = kChatHours.Sample(rng_, 10 * kHourMs, 22 * kHourMs);
    }
  }

  // Day 0: the staff open the groups and post the rules before anyone else arrives (members'
  // joins on day 0 start at 08:00).
  if (d == 0) {
    for (uint32_t gi = 0; gi < groups_.size(); ++gi) {
      const Group& g = groups_[gi];
      const int32_t t = 6 * kHourMs + static_cast<int32_t>(gi % 1000) * 2 * kSecondMs;
      Push(t, Action::kStaffJoin, kStaffBit | g.owner, gi);
      Push(t + 300, Action::kStaffJoin, kStaffBit | g.admin, gi);
      Push(t + 600, Action::kStaffJoin, kStaffBit | g.helper, gi);
      Push(40 * kMinuteMs + t, Action::kRules, kStaffBit | g.owner, gi);
    }
  }

  // First joins of the day, each greeted by the assistant (camp) or often by an admin (fans).
  while (joined_ < persons_.size() && persons_[joined_].join_day == d) {
    const auto i = static_cast<uint32_t>(joined_++);
    const Person& p = persons_[i];
    const Group& g = groups_[p.group];
    if (g.platform == Platform::kQq) {
      // QQ groups take people by request: they answer the group's question and an admin
      // approves within minutes. Drawn from a hash, not rng_, so the rest of the stream stays.
      const auto wait = static_cast<int32_t>(
          kMinuteMs + Mix64(seed_ ^ (uint64_t{i} << 8) ^ 0x72) % (14 * kMinuteMs));
      Push(p.join_ms - std::min(wait, p.join_ms), Action::kJoinRequest, i, p.group);
    }
    Push(p.join_ms, Action::kJoin, i, p.group);
    if (p.flags & kSpammer) continue;
    const bool greet = g.community == Community::kCamp || rng_.Percent(50);
    if (!greet) continue;
    const int32_t t = p.join_ms + rng_.Between(20 * kSecondMs, 5 * kMinuteMs);
    if (t < kDayMs) {
      Push(t, Action::kWelcome, kStaffBit | (g.community == Community::kCamp ? g.helper : g.admin),
           p.group)
          .param = i;
    }
  }

  for (uint32_t i = 0; i < joined_; ++i) PlanPerson(i, d);

  // The bot's daily member sync (群成员同步) of the QQ and Telegram groups lists their staff with
  // their roles (a full QQ list would only repeat what the joins say); on day 0 half an hour
  // after the staff joined. WeCom customer groups are not synced.
  for (uint32_t gi = 0; gi < groups_.size(); ++gi) {
    const Group& g = groups_[gi];
    if (g.platform == Platform::kWecom) continue;
    const int32_t t =
        6 * kHourMs + 30 * kMinuteMs + static_cast<int32_t>(gi % 1000) * 2 * kSecondMs;
    for (const uint32_t staff : {g.owner, g.admin, g.helper}) {
      Push(t, Action::kSynced, kStaffBit | staff, gi);
    }
  }

  // The staff's daily rhythm. Weekdays in +08:00; 1970-01-01 was a Thursday.
  const int64_t local_day = (day_start_ + int64_t{kUtcOffsetMinutes} * kMinuteMs) / kDayMs;
  const int64_t weekday = (local_day % 7 + 7 + 4) % 7;  // 0 = Sunday
  const bool weekend = weekday == 0 || weekday == 6;
  for (uint32_t gi = 0; gi < groups_.size(); ++gi) {
    const Group& g = groups_[gi];
    if (g.community == Community::kCamp) {
      Push(g.morning, Action::kMorning, kStaffBit | g.owner, gi).param = static_cast<uint32_t>(d);
      Push(g.lesson, Action::kLessonLink, kStaffBit | g.helper, gi).param =
          static_cast<uint32_t>(d);
      if (rng_.Percent(50)) {
        Push(rng_.Between(21 * kHourMs + 20 * kMinuteMs, 21 * kHourMs + 50 * kMinuteMs),
             Action::kSlides, kStaffBit | g.helper, gi)
            .param = static_cast<uint32_t>(d);
      }
      Push(g.summary, Action::kSummary, kStaffBit | g.helper, gi).param = g.checkins_before_summary;
    } else {
      if (g.share >= 0) {
        Plan& r = Push(g.share, Action::kShare, kStaffBit | g.owner, gi);
        r.variant = static_cast<uint8_t>(rng_.Below(kFansLinkComments.size()));
        r.param = static_cast<uint32_t>(d);
      }
      // Red packets: more at weekends.
      if (rng_.Percent(weekend ? 30 : 8)) {
        uint32_t v = rng_.Below(kRedPackets.size());
        if (!weekend && v == kWeekendRedPacket) v = 0;
        Push(kChatHours.Sample(rng_, 12 * kHourMs, 23 * kHourMs), Action::kRedPacket,
             kStaffBit | g.owner, gi)
            .variant = static_cast<uint8_t>(v);
      }
    }
  }

  // Stream order: by time, ties in creation order (a join before what its member then does).
  std::sort(plan_.begin(), plan_.end(), [](const Plan& a, const Plan& b) {
    return a.time != b.time ? a.time < b.time : a.seq < b.seq;
  });
  ResolveReplies();
}

// Answers point at their question by seq; make that a position. Members' replies take the
// latest message of the group from someone else in the last two hours, if any.
void DemoGenerator::Impl::ResolveReplies() {
  const size_t n = plan_.size();
  scratch_.assign(n, kNone);
  for (size_t i = 0; i < n; ++i) scratch_[plan_[i].seq] = static_cast<uint32_t>(i);
  for (Plan& r : plan_) {
    if (r.action == Action::kAnswer) r.target = scratch_[r.target];
  }
  scratch_.assign(groups_.size(), kNone);
  for (size_t i = 0; i < n; ++i) {
    Plan& r = plan_[i];
    if (r.flags & kWantsReply) {
      const uint32_t last = scratch_[r.group];
      if (last != kNone && plan_[last].who != r.who && r.time - plan_[last].time < 2 * kHourMs) {
        r.target = last;
      }
    }
    if (IsReplyable(r.action)) scratch_[r.group] = static_cast<uint32_t>(i);
  }
}

void DemoGenerator::Impl::PlanPerson(uint32_t index, int d) {
  Person& p = persons_[index];
  const auto day = static_cast<uint32_t>(d);
  const Group& g = groups_[p.group];
  const uint32_t admin = kStaffBit | g.admin;

  // The period of presence today: [lo, hi) ms into the day.
  int32_t lo = 0, hi = kDayMs;
  if (day < p.leave_day) {
    if (day == p.join_day) lo = p.join_ms + 1;
  } else if (day == p.leave_day) {
    if (day == p.join_day) lo = p.join_ms + 1;
    hi = p.leave_ms;
    if (p.flags & kRemoved) {
      Push(p.leave_ms, Action::kRemove, index, p.group).param = admin;
      const int32_t warn = p.leave_ms + rng_.Between(30 * kSecondMs, 4 * kMinuteMs);
      if (warn < kDayMs) Push(warn, Action::kWarn, admin, p.group);
    } else {
      Push(p.leave_ms, Action::kLeave, index, p.group);
    }
  } else if (day >= p.rejoin_day) {
    if (day == p.rejoin_day) {
      Push(p.rejoin_ms, Action::kRejoin, index, p.group);
      lo = p.rejoin_ms + 1;
    }
  } else {
    return;  // gone for good
  }

  if (p.flags & kSpammer) {
    // The burst right after joining; the ones not removed now and then post again.
    const bool burst = day == p.join_day;
    if (hi > lo && (burst || rng_.Percent(5))) {
      const uint32_t ads = burst ? 1 + rng_.Below(3) : 1;
      const int32_t span = std::min(hi - lo, 2 * kHourMs);
      int32_t t = lo + rng_.Between(0, std::min(span, 10 * kMinuteMs));
      for (uint32_t k = 0; k < ads && t < hi; ++k) {
        Plan& r = Push(t, Action::kAd, index, p.group);
        r.variant = static_cast<uint8_t>(rng_.Below(8));
        r.param = static_cast<uint32_t>(rng_.Next());
        // The first ad is text (a contact to copy); later ones may be a QR image or a card.
        const uint32_t k_roll = k == 0 ? 0 : rng_.Below(100);
        r.kind = static_cast<uint8_t>(k_roll < 70   ? MessageKind::kText
                                      : k_roll < 88 ? MessageKind::kImage
                                                    : MessageKind::kCard);
        t += rng_.Between(kMinuteMs, std::max(kMinuteMs + 1, span / 2));
      }
    }
    return;
  }

  // Activity of the day: the member's level times the day's mood, then decay.
  static constexpr std::array<uint32_t, 8> kMood = {0, 0, 96, 192, 256, 320, 448, 736};
  const uint32_t expected = (p.activity * kMood[rng_.Below(8)]) >> 8;  // 1/256 messages
  uint32_t count = expected >> 8;
  if (rng_.Below(256) < (expected & 255)) ++count;
  count = std::min<uint32_t>(count, 300);
  p.activity = static_cast<uint32_t>((uint64_t{p.activity} * p.rate) >> 16);
  if (hi <= lo) return;

  for (uint32_t k = 0; k < count; ++k) PlanMessage(index, p, kChatHours.Sample(rng_, lo, hi));
  const uint16_t before = p.msgs;
  p.msgs = static_cast<uint16_t>(std::min<uint32_t>(p.msgs + count, 0xFFFF));

  const uint32_t since = day - p.join_day;  // days since the first join
  if (g.community == Community::kCamp) {
    const uint32_t camp_day = since + 1;
    // 打卡: strong at first, fading over the week; a few keep going after the camp.
    static constexpr std::array<uint32_t, 7> kCheckinPerMille = {900, 800, 700, 620, 560, 500, 560};
    const uint32_t base = camp_day <= 7 ? kCheckinPerMille[camp_day - 1] : 90;
    if (rng_.PerMille(base * p.diligence / 255)) {
      const int32_t t = kCheckinHours.Sample(rng_, lo, hi);
      Plan& r = Push(t, Action::kCheckin, index, p.group);
      r.param = camp_day;
      r.variant = static_cast<uint8_t>(rng_.Below(kCheckinNotes.size() * 2));  // half bare
      if (t < g.summary) ++groups_[p.group].checkins_before_summary;
    }
    // The evening lesson: clicks come right after the link is posted.
    const uint32_t lesson_pm = camp_day <= 7 ? 300 + p.diligence * 2 : p.diligence / 2;
    if (rng_.PerMille(lesson_pm)) {
      const int32_t t =
          g.lesson + 5 * kSecondMs + static_cast<int32_t>(rng_.SoonBelow(90 * kMinuteMs));
      if (t >= lo && t < hi) Push(t, Action::kLessonClick, index, p.group).param = day;
    }
    if (camp_day == p.order_day) {
      Push(kChatHours.Sample(rng_, lo, hi), Action::kTrialOrder, index, p.group);
    }
    if (camp_day == p.intent_day) {
      const int32_t t = kChatHours.Sample(rng_, lo, hi);
      Push(t, Action::kSalesClick, index, p.group);
      const int32_t tag = t + rng_.Between(10 * kMinuteMs, 3 * kHourMs);
      if (tag < hi && rng_.Percent(70)) {
        Push(tag, Action::kTagIntent, index, p.group).param = admin;
        p.flags |= kTagged;
      }
    }
    if (camp_day == p.paid_day) {
      const int32_t t = kChatHours.Sample(rng_, lo, hi);
      Push(t, Action::kPaidOrder, index, p.group);
      const int32_t tag = t + rng_.Between(5 * kMinuteMs, 60 * kMinuteMs);
      if (tag + 1 < hi) {
        Push(tag, Action::kTagPaid, index, p.group).param = admin;
        if (p.flags & kTagged) {
          Push(tag + 1, Action::kTagUnintent, index, p.group).param = admin;
          p.flags &= static_cast<uint8_t>(~kTagged);
        }
      }
    }
  } else {
    if (g.share >= 0 && rng_.PerMille(120 + std::min<uint32_t>(p.activity / 3, 500))) {
      const int32_t t = g.share + 5 * kSecondMs + static_cast<int32_t>(rng_.SoonBelow(3 * kHourMs));
      if (t >= lo && t < hi) Push(t, Action::kShareClick, index, p.group).param = day;
    }
    if (since == p.order_day && p.order_day != 0) {
      const int32_t t = kChatHours.Sample(rng_, lo, hi);
      Push(t, Action::kMerchOrder, index, p.group).variant = static_cast<uint8_t>(rng_.Below(2));
    }
    if (before < 60 && p.msgs >= 60 && !(p.flags & kTagged)) {
      Push(rng_.Between(lo, hi), Action::kTagActive, index, p.group).param = admin;
      p.flags |= kTagged;
    }
  }
}

// One message of a member at `t`; a question may get the helper's answer later the same day.
void DemoGenerator::Impl::PlanMessage(uint32_t index, const Person& p, int32_t t) {
  const Group& g = groups_[p.group];
  const bool camp = g.community == Community::kCamp;
  const uint32_t roll = rng_.Below(1000);
  if (roll < (camp ? 55u : 25u)) {
    const auto q_seq = static_cast<uint32_t>(plan_.size());
    Plan& q = Push(t, Action::kQuestion, index, p.group);
    if (camp) {
      q.variant = static_cast<uint8_t>((p.intent_day != 0 && rng_.Percent(40))
                                           ? kPriceQuestion
                                           : rng_.Below(kCampQuestions.size()));
    } else {
      q.variant = static_cast<uint8_t>(rng_.Below(kFansQuestions.size()));
    }
    const uint8_t variant = q.variant;  // q dies with the next Push
    if (rng_.Percent(camp ? 85 : 55)) {
      const int32_t answer = t + rng_.Between(kMinuteMs, 40 * kMinuteMs);
      if (answer < kDayMs) {
        Plan& a = Push(answer, Action::kAnswer, kStaffBit | (camp ? g.helper : g.admin), p.group);
        a.target = q_seq;
        a.variant = variant;
        a.param = index;
      }
    }
    return;
  }
  Plan& r = Push(t, Action::kChat, index, p.group);
  if (roll < (camp ? 170u : 160u)) {
    r.flags = kWantsReply | (rng_.Percent(50) ? kMentionReplied : 0);
    r.variant = static_cast<uint8_t>(rng_.Below(camp ? kCampReplies.size() : kFansReplies.size()));
    return;
  }
  const uint32_t k = rng_.Below(100);
  MessageKind kind;
  if (camp) {
    kind = k < 78   ? MessageKind::kText
           : k < 88 ? MessageKind::kImage
           : k < 91 ? MessageKind::kVoice
           : k < 93 ? MessageKind::kFile
           : k < 95 ? MessageKind::kMiniprogram
           : k < 96 ? MessageKind::kVideo
           : k < 99 ? MessageKind::kLink
                    : MessageKind::kCard;
  } else {
    kind = k < 62   ? MessageKind::kText
           : k < 85 ? MessageKind::kImage
           : k < 90 ? MessageKind::kLink
           : k < 93 ? MessageKind::kVideo
           : k < 95 ? MessageKind::kVoice
           : k < 96 ? MessageKind::kRedpacket
           : k < 98 ? MessageKind::kMiniprogram
                    : MessageKind::kFile;
  }
  r.kind = static_cast<uint8_t>(kind);
  r.variant = static_cast<uint8_t>(rng_.Below(64));
  r.param = static_cast<uint32_t>(rng_.Next());
}

}  // namespace qz
