// The demo generator, second half: turning the day's plan into canonical events.
#include "demo/demo.hpp"
#include "demo/demo_internal.hpp"

namespace qz {

// ---------------------------------------------------------------------------------------------
// Streaming: one Plan into one Event.

Platform DemoGenerator::Impl::PlatformOf(uint32_t who) const {
  if (who & kStaffBit) return staff_[who & ~kStaffBit].platform;
  return groups_[persons_[who].group].platform;
}

void DemoGenerator::Impl::AppendWhoId(uint32_t who, std::string& out) const {
  if (who & kStaffBit) {
    out += staff_[who & ~kStaffBit].id;
  } else {
    AppendMemberId(out, PlatformOf(who), persons_[who].ext_num);
  }
}

// The display name: derived from the member's name seed; Telegram users lean to Latin
// nicknames. Camp members who follow the rule show 昵称-城市-职业 from the day after joining.
void DemoGenerator::Impl::AppendName(const Person& p, std::string& out) const {
  const uint64_t h = Mix64(seed_ ^ (uint64_t{p.name_seed} << 17) ^ p.name_seed);
  const uint32_t style = h % 100;
  const auto pick = [&](auto& pool, int shift) -> std::string_view {
    return pool[(h >> shift) % pool.size()];
  };
  if ((p.flags & kSpammer) && style < 60) {
    out += pick(kSpamNames, 8);
    return;
  }
  uint32_t s = style;
  if (groups_[p.group].platform == Platform::kTelegram) {
    s = style < 45 ? 62 + style * 20 / 45 : style;  // nearly half pick a Latin nickname
  }
  if (s < 28) {
    out += pick(kSurnames, 8);
    out += pick(kGiven, 16);
  } else if (s < 40) {
    out += pick(kSurnames, 8);
    out += pick(kGiven, 16);
    out += pick(kGiven, 24);
  } else if (s < 53) {
    out += "小";
    out += pick(kGiven, 16);
  } else if (s < 59) {
    out += "阿";
    out += pick(kGiven, 16);
  } else if (s < 62) {
    out += pick(kSurnames, 8);
    out += pick(kTitles, 32);
  } else if (s < 72) {
    out += pick(kEnglish, 8);
  } else if (s < 78) {
    out += pick(kPinyin, 8);
  } else if (s < 82) {
    out += pick(kEnglish, 8);
    out += '_';
    AppendPadded(out, (h >> 40) % 100, 2);
  } else {
    out += pick(kFancy, 8);
  }
  if ((p.flags & kRename) && day_ > p.join_day) {
    out += '-';
    out += pick(kCities, 44);
    out += '-';
    out += pick(kJobs, 52);
  }
}

void DemoGenerator::Impl::AppendWhoName(uint32_t who, std::string& out) const {
  if (who & kStaffBit) {
    out += staff_[who & ~kStaffBit].name;
  } else {
    AppendName(persons_[who], out);
  }
}

void DemoGenerator::Impl::SetWho(uint32_t who, Event& out) {
  AppendWhoId(who, out.member);
  AppendWhoName(who, out.name);
  if (who & kStaffBit) out.role = staff_[who & ~kStaffBit].role;
}

namespace {

void AppendSpacedDigits(std::string& out, uint64_t h, int n) {
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    h = Mix64(h + 0x9E3779B97F4A7C15ull);
    out += static_cast<char>('0' + h % 10);
  }
}

void AppendContact(std::string& out, uint64_t h) {
  AppendCode(out, h, 3 + static_cast<int>(h % 3), kLower);
  AppendCode(out, h >> 8, 3 + static_cast<int>((h >> 4) % 2), kDigits);
}

// Ads as spammers write them: contacts broken up or disguised to get past keyword filters.
void AppendAd(std::string& out, uint8_t variant, uint64_t h) {
  switch (variant % 8) {
    case 0:
      out += "加v看福利 wx: ";
      AppendContact(out, h);
      break;
    case 1:
      out += "威❤ 同号，私聊有惊喜 1 ";
      AppendSpacedDigits(out, h, 3);
      out += " …";
      break;
    case 2:
      out += "兼职日结，手机就能做，一单一结 q 8 5 9 ";
      AppendSpacedDigits(out, h, 3);
      out += " …";
      break;
    case 3:
      out += "兼职日结200+，宝妈学生都可以，加薇：";
      AppendContact(out, h);
      break;
    case 4:
      out += "低价代开各平台会员，需要的滴滴 V➕";
      AppendContact(out, h);
      break;
    case 5:
      out += "免费领内部资料，➕vx：";
      AppendContact(out, h);
      out += " 备注群友";
      break;
    case 6:
      out += "信用卡提额、快速下款，扣扣 ";
      AppendSpacedDigits(out, h, 9);
      break;
    default:
      out += "刚提现一千多，带你一起赚，加 ｗｘ：";
      AppendContact(out, h);
      break;
  }
}

}  // namespace

void DemoGenerator::Impl::Materialize(Plan& r, Event& out) {
  const Group& g = groups_[r.group];
  const bool camp = g.community == Community::kCamp;
  const auto platform = static_cast<size_t>(g.platform);
  r.id_num = ++id_counter_[platform];

  // Reset every field, keeping the strings' capacity.
  out.type = EventType::kMessage;
  out.time = r.time;
  out.time_offset = kUtcOffsetMinutes;
  out.platform.assign(kPlatformNames[platform]);
  out.community.assign(kCommunitySlugs[static_cast<size_t>(g.community)]);
  out.group.assign(g.slug);
  out.group_name.assign(g.name);
  out.member.clear();
  out.name.clear();
  out.role.reset();
  out.kind = MessageKind::kText;
  out.text.clear();
  out.reply_to.clear();
  out.mentions.clear();
  out.via_inviter.clear();
  out.via_code.clear();
  out.reason = LeaveReason::kLeft;
  out.url.clear();
  out.amount_e4 = 0;
  out.currency.clear();
  out.product.clear();
  out.tag.clear();
  out.tag_op = TagOp::kAdd;
  out.request.clear();
  out.attrs.assign("{}");
  SetWho(r.who, out);

  char letter = 'm';
  std::string& text = out.text;
  auto mention = [&](uint32_t who) {
    out.mentions.emplace_back();
    AppendWhoId(who, out.mentions.back());
  };
  auto operator_attr = [&](uint32_t staff_who) {
    out.attrs.assign("{\"operator\":\"");
    AppendWhoId(staff_who, out.attrs);
    out.attrs += "\"}";
  };
  auto lesson_url = [&](uint32_t day) {
    out.url.assign("https://camp.example.com/live/day-");
    AppendUint(out.url, day + 1);
    out.url += "?g=";
    out.url += g.slug;
  };
  auto share_url = [&](std::string& s, uint32_t day) {
    s += "https://www.bilibili.com/video/BV1";
    AppendCode(s, Mix64(seed_ ^ (uint64_t{day} << 20) ^ r.group), 9, kAlnum);
  };

  switch (r.action) {
    case Action::kStaffJoin:
    case Action::kJoin:
    case Action::kRejoin: {
      out.type = EventType::kMemberJoined;
      letter = 'j';
      if (r.action == Action::kJoin) {
        const Person& p = persons_[r.who];
        if (p.inviter != kNone) {
          AppendWhoId(p.inviter, out.via_inviter);
          if (camp) {
            out.via_code = "poster:";
            out.via_code += out.via_inviter;
          }
        } else {
          out.via_code.assign(ChannelCode(g.community, g.platform, p.channel));
        }
      } else if (r.action == Action::kRejoin) {
        out.via_code.assign(kQrCodeGroup);
      }
      break;
    }
    case Action::kLeave:
    case Action::kRemove:
      out.type = EventType::kMemberLeft;
      letter = 'l';
      if (r.action == Action::kRemove) {
        out.reason = LeaveReason::kRemoved;
        operator_attr(r.param);
      }
      break;
    case Action::kRules:
      text = camp
                 ? "【群规】欢迎来到7天成长营！1. 群昵称改为 昵称-城市-职业；2. 每天发「打卡第N天」"
                   "打卡；3. 禁止广告、拉人、私加好友推销，违者移出；4. 有问题@助教，看到都会回复。"
                 : "【群规】欢迎来到星河粉丝团～友善交流，禁止广告和私下交易，剧透请打码，违者移出"
                   "群聊。";
      break;
    case Action::kWarn:
      text =
          camp ? "已移出发广告的成员。大家不要添加陌生人好友，课程相关的事只认助教和老师，谨防受骗"
               : "广告号已踢，私聊找你卖周边、送福利的都是骗子，大家注意甄别";
      break;
    case Action::kWelcome:
      if (g.platform == Platform::kTelegram) {
        text = "Welcome @";
        AppendName(persons_[r.param], text);
        text += "! 先看置顶消息，玩得开心～";
      } else {
        text = camp ? "欢迎 @" : "欢迎新朋友 @";
        AppendName(persons_[r.param], text);
        text += camp ? " 加入7天成长营🎉 先看群公告，把群昵称改成「昵称-城市-职业」，每晚8点直播，"
                       "记得每天打卡哦"
                     : " ～进群先看群规，禁止发广告哦";
      }
      mention(r.param);
      break;
    case Action::kChat: {
      out.kind = static_cast<MessageKind>(r.kind);
      if (r.flags & kWantsReply) {
        text = camp ? kCampReplies[r.variant % kCampReplies.size()]
                    : kFansReplies[r.variant % kFansReplies.size()];
        if (r.target != kNone) {
          const Plan& t = plan_[r.target];
          out.reply_to.assign(kPlatformNames[platform]);
          out.reply_to += ":m:";
          AppendUint(out.reply_to, t.id_num);
          if (r.flags & kMentionReplied) {
            std::string reply_text = "@";
            AppendWhoName(t.who, reply_text);
            reply_text += ' ';
            text.insert(0, reply_text);
            mention(t.who);
          }
        }
        break;
      }
      switch (out.kind) {
        case MessageKind::kText: {
          // Greetings only at their time of day; otherwise another line of the pool.
          const int64_t local = (r.time + int64_t{kUtcOffsetMinutes} * kMinuteMs) % kDayMs;
          const auto hour = static_cast<int32_t>((local + kDayMs) % kDayMs / kHourMs);
          const bool morning = hour >= 5 && hour < 11, night = hour >= 21 || hour < 2;
          const size_t size = camp ? kCampChat.size() : kFansChat.size();
          const size_t morning_line = camp ? kCampMorningLine : kFansMorningLine;
          const size_t night_line = camp ? kCampNightLine : kFansNightLine;
          size_t v = r.variant % size;
          for (size_t step = 1 + r.param % (size - 1);
               (v == morning_line && !morning) || (v == night_line && !night); step = 1) {
            v = (v + step) % size;
          }
          text = camp ? kCampChat[v] : kFansChat[v];
          break;
        }
        case MessageKind::kImage:
          text = (r.variant & 1) ? "[图片]" : "[表情]";
          break;
        case MessageKind::kVoice:
          text = "[语音] ";
          AppendUint(text, 2 + r.param % 58);
          text += "秒";
          break;
        case MessageKind::kFile:
          if (camp) {
            text = "[文件] 第";
            AppendUint(text, static_cast<uint32_t>(day_ - persons_[r.who].join_day) % 7 + 1);
            text += "天作业.pdf";
          } else {
            text = "[文件] 直播切片合集.zip";
          }
          break;
        case MessageKind::kMiniprogram:
          text = camp ? "[小程序] 7天成长营·打卡日历" : "[小程序] 星河应援打榜";
          break;
        case MessageKind::kVideo:
          text = "[视频]";
          break;
        case MessageKind::kLink:
          if (camp) {
            text = kCampLinkComments[r.variant % kCampLinkComments.size()];
            text += " https://mp.weixin.qq.com/s/";
            AppendCode(text, r.param, 22, kAlnum);
          } else {
            text = kMemberLinkComments[r.variant % kMemberLinkComments.size()];
            text += " https://www.bilibili.com/video/BV1";
            AppendCode(text, r.param, 9, kAlnum);
          }
          break;
        case MessageKind::kCard:
          text = "[名片] 王老师";
          break;
        case MessageKind::kRedpacket:
          text = kMemberRedPackets[r.variant % kMemberRedPackets.size()];
          break;
        default:
          break;
      }
      break;
    }
    case Action::kQuestion:
      text = camp ? kCampQuestions[r.variant] : kFansQuestions[r.variant];
      break;
    case Action::kAnswer: {
      const Plan& q = plan_[r.target];
      out.reply_to.assign(kPlatformNames[platform]);
      out.reply_to += ":m:";
      AppendUint(out.reply_to, q.id_num);
      text = "@";
      AppendName(persons_[r.param], text);
      text += ' ';
      text += camp ? kCampAnswers[r.variant] : kFansAnswers[r.variant];
      mention(r.param);
      break;
    }
    case Action::kAd:
      out.kind = static_cast<MessageKind>(r.kind);
      if (out.kind == MessageKind::kImage) {
        text = "[图片]";
      } else if (out.kind == MessageKind::kCard) {
        text = "[名片] 福利小助手";
      } else {
        AppendAd(text, r.variant, r.param);
      }
      break;
    case Action::kCheckin:
      out.type = EventType::kCheckin;
      letter = 'c';
      text = "打卡第";
      AppendUint(text, r.param);
      text += "天";
      if (r.variant < kCheckinNotes.size()) {
        text += " ";
        text += kCheckinNotes[r.variant];
      }
      break;
    case Action::kMorning:
      text = "【第";
      AppendUint(text, r.param + 1);
      text += "天】早上好☀️ 今晚8点直播：";
      text += kTopics[r.param % kTopics.size()];
      text += "。白天记得先打卡～";
      break;
    case Action::kLessonLink:
      out.kind = MessageKind::kLink;
      lesson_url(r.param);
      text = "今晚直播入口已开放：";
      text += out.url;
      text += " 7点55准时开始，回放也在这里";
      out.url.clear();
      break;
    case Action::kSlides:
      out.kind = MessageKind::kFile;
      text = "[文件] 第";
      AppendUint(text, r.param + 1);
      text += "天课件.pdf";
      break;
    case Action::kSummary:
      if (r.param == 0) {
        text = "今天还没有同学打卡哦，睡前来得及，大家加油💪";
      } else {
        text = "今天已经有";
        AppendUint(text, r.param);
        text += "位同学完成打卡，给坚持的你们点赞👍 还没打卡的同学睡前来得及～";
      }
      break;
    case Action::kLessonClick:
      out.type = EventType::kLinkClick;
      letter = 'k';
      lesson_url(r.param);
      break;
    case Action::kSalesClick:
      out.type = EventType::kLinkClick;
      letter = 'k';
      out.url = "https://camp.example.com/advanced?from=";
      out.url += g.slug;
      break;
    case Action::kShare:
      out.kind = MessageKind::kLink;
      text = kFansLinkComments[r.variant % kFansLinkComments.size()];
      text += ' ';
      share_url(text, r.param);
      break;
    case Action::kShareClick:
      out.type = EventType::kLinkClick;
      letter = 'k';
      share_url(out.url, r.param);
      break;
    case Action::kRedPacket:
      out.kind = MessageKind::kRedpacket;
      text = kRedPackets[r.variant % kRedPackets.size()];
      break;
    case Action::kTrialOrder:
    case Action::kPaidOrder:
    case Action::kMerchOrder:
      out.type = EventType::kOrder;
      letter = 'o';
      out.currency = "CNY";
      if (r.action == Action::kTrialOrder) {
        out.amount_e4 = 99'000;  // 9.9
        out.product = "7天成长营·体验课";
      } else if (r.action == Action::kPaidOrder) {
        out.amount_e4 = 19'990'000;  // 1999
        out.product = "7天成长营·进阶课";
      } else if (r.variant == 0) {
        out.amount_e4 = 590'000;
        out.product = "星河周边·帆布包";
      } else {
        out.amount_e4 = 890'000;
        out.product = "星河应援灯牌";
      }
      break;
    case Action::kJoinRequest: {
      out.type = EventType::kJoinRequest;
      letter = 'r';
      const Person& p = persons_[r.who];
      const uint64_t h = Mix64(seed_ ^ (uint64_t{r.who} << 12) ^ 0x7265);
      // As OneBot reports it: the question and the answer in one comment, and a flag to answer by.
      text = "问题：";
      text += camp ? kCampQqQuestion : kFansQqQuestion;
      text += "\n答案：";
      if (p.flags & kSpammer) {
        text += kSpamAnswers[h % kSpamAnswers.size()];
      } else if (camp) {
        text += kCampQqAnswers[p.channel % kCampQqAnswers.size()];
      } else {
        text += kFansQqAnswers[h % kFansQqAnswers.size()];
      }
      AppendUint(out.request, 1'600'000'000'000'000ull + (h >> 8) % 100'000'000'000'000ull);
      break;
    }
    case Action::kSynced:
      out.type = EventType::kMemberSynced;  // the member and role SetWho wrote
      letter = 's';
      break;
    case Action::kTagIntent:
    case Action::kTagPaid:
    case Action::kTagUnintent:
    case Action::kTagActive:
      out.type = EventType::kTagChanged;
      letter = 't';
      out.tag = r.action == Action::kTagPaid     ? "已购进阶课"
                : r.action == Action::kTagActive ? "活跃粉丝"
                                                 : "意向客户";
      out.tag_op = r.action == Action::kTagUnintent ? TagOp::kRemove : TagOp::kAdd;
      operator_attr(r.param);
      break;
  }

  out.id.assign(kPlatformNames[platform]);
  out.id += ':';
  out.id += letter;
  out.id += ':';
  AppendUint(out.id, r.id_num);
}

bool DemoGenerator::Impl::Next(Event& out) {
  while (cursor_ >= plan_.size()) {
    if (next_day_ >= days_) return false;
    PlanDay(next_day_++);
  }
  Materialize(plan_[cursor_++], out);
  return true;
}

}  // namespace qz
