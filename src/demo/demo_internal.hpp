// qunzhu demo: the simulation's internals, shared by demo.cpp (members and the daily plan) and
// demo_events.cpp (turning the plan into events). Included by those two files only.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "demo/demo.hpp"

// How the simulation works
//
// At construction every member is drawn up front (community, platform, group, join time, how
// chatty they are and how fast they go quiet, whether and when they leave, come back, buy…) and
// the members are put in join order; that order numbers their platform ids and lets a referral
// pick an inviter who verifiably joined earlier. Staff (the camp's teacher, operator and
// assistants, one assistant to three groups; the fan groups' owner and two admins) serve the
// groups of their platform and never leave.
//
// Then the days are simulated one at a time: PlanDay appends compact Plan records (a time, an
// action, who, a few small numbers) for the day, sorts them by (time, creation order), resolves
// which message a reply points at, and Next turns one record at a time into an Event, assigning
// the per-platform id counter in stream order (so ids increase with time). All randomness is
// consumed by PlanDay and the constructor in a fixed order; Next only formats. Every event of a
// day lies inside that day, so sorting per day gives a globally ordered stream.
//
// Presence is exact: a member's events that name a group lie strictly inside a period in which
// they are in it (after the join, before the leave, after a rejoin), because the engine
// treats any grouped event as evidence of membership.

namespace qz {
namespace demo_internal {

constexpr int32_t kDayMs = 86'400'000;
constexpr int32_t kSecondMs = 1'000;
constexpr int32_t kMinuteMs = 60'000;
constexpr int32_t kHourMs = 3'600'000;
constexpr int16_t kUtcOffsetMinutes = 480;  // every event is written in +08:00
constexpr uint16_t kNever = 0xFFFF;
constexpr uint32_t kNone = 0xFFFFFFFFu;
constexpr uint32_t kStaffBit = 0x80000000u;  // Plan::who with this bit is a staff index
constexpr int kMaxMembers = 10'000'000;      // person indices fit in 24 bits (sort key)
constexpr int kMaxDays = 3'650;              // join times fit in 39 bits (sort key)

// ---------------------------------------------------------------------------------------------
// Randomness: our own generator and integer-only sampling, so every platform draws the same.

constexpr uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& word : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      word = Mix64(seed);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n) for n >= 1 (multiply-shift on 32 random bits; the bias is < n / 2^32).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(((Next() >> 32) * n) >> 32); }
  // In [0, n), most likely near 0 (density falling linearly): reactions soon after a post.
  uint32_t SoonBelow(uint32_t n) {
    const uint32_t a = Below(n);
    const uint32_t b = Below(n);
    return std::min(a, b);
  }
  bool PerMille(uint32_t p) { return Below(1000) < p; }
  bool Percent(uint32_t p) { return Below(100) < p; }
  // Uniform in [lo, hi), hi > lo.
  int32_t Between(int32_t lo, int32_t hi) {
    return lo + static_cast<int32_t>(Below(static_cast<uint32_t>(hi - lo)));
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

// A time-of-day distribution given by relative weights per hour.
class HourTable {
 public:
  constexpr explicit HourTable(const std::array<uint16_t, 24>& weights) {
    uint32_t sum = 0;
    for (size_t h = 0; h < 24; ++h) {
      sum += weights[h];
      cumulative_[h] = sum;
    }
  }
  // Milliseconds into the day, in [lo, hi) (hi > lo). Inside a narrow window the shape is
  // approximate: after a few misses it falls back to uniform.
  int32_t Sample(Rng& rng, int32_t lo, int32_t hi) const {
    for (int attempt = 0; attempt < 4; ++attempt) {
      const uint32_t u = rng.Below(cumulative_[23]);
      size_t h = 0;
      while (cumulative_[h] <= u) ++h;
      const int32_t t = static_cast<int32_t>(h) * kHourMs + rng.Between(0, kHourMs);
      if (t >= lo && t < hi) return t;
    }
    return rng.Between(lo, hi);
  }

 private:
  std::array<uint32_t, 24> cumulative_{};
};

// Chinese chat groups: a lunch bump and a long evening peak; check-ins morning and late evening.
constexpr HourTable kChatHours({10, 5,  2,  1,  1,  2,  8,  25, 45, 50, 50, 55,
                                70, 55, 45, 45, 45, 50, 55, 65, 85, 95, 80, 40});
constexpr HourTable kCheckinHours({4,  1,  1,  1,  1,  3,  25, 60, 70, 40, 20, 15,
                                   25, 15, 10, 10, 10, 12, 20, 35, 55, 75, 80, 45});
constexpr HourTable kJoinHours({6,  3,  1,  1,  1,  2,  6,  20, 40, 45, 45, 50,
                                60, 50, 45, 45, 45, 50, 55, 70, 90, 95, 70, 30});

// ---------------------------------------------------------------------------------------------
// Content. All member-visible text is written for this demo.

template <size_t N>
using Pool = std::array<std::string_view, N>;

constexpr Pool<30> kSurnames = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗",
                                "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹"};
constexpr Pool<30> kGiven = {"明", "芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "洋",
                             "艳", "勇", "军", "杰", "娟", "涛", "超", "霞", "平", "婷",
                             "宇", "欣", "琳", "浩", "晨", "悦", "然", "雪", "佳", "阳"};
constexpr Pool<4> kTitles = {"老师", "姐", "哥", "总"};
constexpr Pool<24> kEnglish = {"Amy",  "Leo",  "Coco",  "Kevin", "Yuki",  "Sunny", "Jason", "Cathy",
                               "Momo", "Tony", "Vicky", "Eric",  "Lucy",  "Jack",  "Nina",  "Ryan",
                               "Ivy",  "Sam",  "Mia",   "Zoe",   "Ethan", "Luna",  "Max",   "Iris"};
constexpr Pool<14> kPinyin = {"xiaoyu",   "chenchen", "ajie",     "lili_88", "tongtong",
                              "haoran_w", "yiyi",     "miaomiao", "dabao",   "xiaolu",
                              "qiqi",     "zhou_zz",  "lin.yan",  "wenwen"};
constexpr Pool<16> kFancy = {"晨曦",     "半夏",     "向日葵",   "一只猫",  "追光的人", "清风徐来",
                             "momo酱",   "柠檬🍋",    "星星",     "小太阳",  "咸鱼翻身", "快乐小狗",
                             "奶茶续命", "早睡早起", "山有木兮", "橘子汽水"};
constexpr Pool<12> kCities = {"北京", "上海", "杭州", "深圳", "广州", "成都",
                              "武汉", "南京", "西安", "苏州", "长沙", "重庆"};
constexpr Pool<11> kJobs = {"设计", "运营", "老师", "程序员", "财务",    "销售",
                            "学生", "宝妈", "产品", "HR",     "自由职业"};
constexpr Pool<6> kAssistantNames = {"助教小雅", "助教Lily", "助教阿琳",
                                     "助教小鹿", "助教Coco", "助教小满"};

constexpr Pool<40> kCampChat = {
    "今天的课干货满满，笔记记了整整三页",
    "老师讲得好清楚，终于搞懂了",
    "有没有一起坚持打卡的小伙伴？",
    "今天加班到好晚，回家补看回放",
    "收到，谢谢助教～",
    "第一次参加训练营，有点小紧张",
    "早上好呀各位☀️",
    "昨天的作业终于交上了",
    "大家都是哪个城市的？我在杭州",
    "坚持就是胜利💪",
    "哈哈哈哈哈",
    "👍👍👍",
    "同问",
    "学到了，马上用起来",
    "这个方法我回去试一下",
    "晚安，明天见～",
    "有人一起组队写作业吗",
    "今天的内容有点难，得慢慢消化",
    "感谢分享！",
    "刚下班，赶上直播了",
    "老师今天说的那个案例太真实了",
    "我把笔记整理成了思维导图，需要的可以私我",
    "终于跟上进度了😂",
    "今天状态不好，明天补上",
    "这个群氛围真好",
    "娃睡了，开始学习",
    "通勤路上听完了回放",
    "请大家多多指教🙏",
    "昨天的直播没看完，今天接着看",
    "第二个方法更适合我",
    "有没有推荐的书？想继续深入学",
    "+1",
    "已完成今天的作业✅",
    "跟着做了一遍，效果不错",
    "老师辛苦了！",
    "周末能一口气补完吗",
    "刚刚网卡了，错过了一段",
    "大家加油！",
    "今天终于没有拖延，给自己鼓掌",
    "原来不止我一个人卡在这里哈哈",
};
// Lines that only fit a time of day (see Materialize).
constexpr size_t kCampMorningLine = 6, kCampNightLine = 15;
constexpr Pool<12> kCampReplies = {
    "同感！",
    "对对对，我也是这么想的",
    "哈哈哈确实",
    "谢谢分享～",
    "我也遇到了这个问题",
    "说得太好了👍",
    "+1",
    "真的吗？",
    "学习了",
    "一起加油！",
    "我也是这样！",
    "收藏了",
};
// A question and the assistant's answer share an index.
constexpr Pool<12> kCampQuestions = {
    "请问几点开课？",           "作业在哪里交？",           "错过直播了，有回放吗？",
    "打卡要发什么内容？",       "课程资料在哪里下载？",     "进阶课多少钱？有优惠吗？",
    "手机上看不了直播怎么办？", "可以拉朋友进来一起学吗？", "7天结束后还能看回放吗？",
    "全勤打卡有奖励吗？",       "老师的PPT可以分享吗？",    "怎么修改群昵称？",
};
constexpr size_t kPriceQuestion = 5;
constexpr Pool<12> kCampAnswers = {
    "每晚8点直播，7点50会在群里发入口，记得提前进来哦",
    "作业在课程页面底部的「提交作业」里上传，截图发群里也可以～",
    "有的，直播结束后2小时内更新回放，还是原来的入口",
    "发「打卡第N天」再加一两句今天的收获就可以啦",
    "资料在群公告第二条，链接长期有效",
    "进阶课原价2999，营期内报名1999，私聊我领优惠名额",
    "先把App更新到最新版，还不行就换电脑浏览器打开试试",
    "当然可以！把你的专属海报发给朋友，扫码就能进群",
    "回放保留30天，结营后也能继续看",
    "7天全勤送学习资料包一份，结营时统一发放",
    "PPT今晚课后会发到群文件里",
    "点右上角「…」→「我在本群的昵称」，改成 昵称-城市-职业 就好",
};
constexpr Pool<7> kTopics = {
    "如何定一个能完成的小目标", "番茄工作法与时间管理", "高效阅读与做笔记",
    "写作表达的三段式结构",     "建立每天复盘的习惯",   "打造自己的作品集",
    "结营分享：下一步怎么走",
};
constexpr Pool<12> kCheckinNotes = {
    "今天学会了把目标拆成小步骤",     "早起读书30分钟",       "完成了课后作业",
    "复盘了昨天的时间安排",           "坚持就有收获",         "今天的练习做了两遍",
    "记下了今天的三个收获",           "虽然很累但还是学完了", "整理了一页笔记",
    "按老师的方法试了一下，真的有用", "给自己的进步点个赞",   "今天有点晚，但没落下",
};
constexpr Pool<4> kCampLinkComments = {"分享一篇好文章", "这篇讲时间管理的不错", "推荐大家看看",
                                       "和今天的课很像"};

constexpr Pool<36> kFansChat = {
    "今天的视频笑死我了哈哈哈",
    "新一期什么时候更新呀",
    "前排占座！",
    "有没有一起去线下见面会的？",
    "刚看完直播，太好哭了",
    "求一个高清壁纸",
    "蹲返图",
    "星河今天状态好好",
    "早安打工人☕",
    "谁懂啊这期真的绝了",
    "官宣了官宣了！！",
    "哈哈哈哈哈哈哈",
    "冲冲冲",
    "+1",
    "晚上直播见～",
    "这首BGM叫什么名字？",
    "周边什么时候补货😭",
    "三连了，大家也去支持一下",
    "今天也是被治愈的一天",
    "我来晚了，错过了什么",
    "弹幕笑死，全是人才",
    "有没有同城的小伙伴",
    "新人报到，请多关照",
    "终于抢到票了！！",
    "冲榜冲榜！",
    "gm everyone",
    "lol this one is so good",
    "anyone watching the stream tonight?",
    "same here",
    "this edit is amazing",
    "晚安～",
    "晒一下今天到的应援物",
    "求组队上分",
    "这周更新好快",
    "已经循环十遍了",
    "第一次在群里说话，紧张",
};
constexpr size_t kFansMorningLine = 8, kFansNightLine = 30;
constexpr Pool<10> kFansReplies = {"哈哈哈哈笑死", "真的！！", "+1",       "同担！",     "我也是",
                                   "确实",         "太真实了", "lol same", "谁说不是呢", "抱抱"};
constexpr Pool<6> kFansQuestions = {
    "下次直播是什么时候？",     "线下见面会怎么报名？",     "周边在哪里买？",
    "群里可以发自己的剪辑吗？", "When is the next stream?", "抽奖结果什么时候公布？",
};
constexpr Pool<6> kFansAnswers = {
    "周五晚上8点，会提前在群里提醒",
    "置顶消息里有报名表，名额有限先到先得",
    "官方店铺链接在群公告里，别信私聊卖周边的",
    "可以的，注明原视频出处就行",
    "Friday 8pm (UTC+8), the reminder will be pinned",
    "明晚直播结束后公布，中奖的会私信联系",
};
constexpr Pool<5> kFansLinkComments = {"新视频上线啦，求三连🙏", "今晚直播的预告", "幕后花絮来了",
                                       "这期剪了好久，大家看看", "投稿活动开始了，欢迎参加"};
constexpr Pool<4> kMemberLinkComments = {"这个二创太好笑了", "好早以前的一期，挖出来了",
                                         "安利这个剪辑", "谁做的，太用心了"};
constexpr Pool<4> kRedPackets = {"恭喜发财，大吉大利", "周末快乐！", "感谢大家的支持🧧",
                                 "新视频破百万啦，发个红包庆祝"};
constexpr size_t kWeekendRedPacket = 1;
constexpr Pool<3> kMemberRedPackets = {"恭喜发财，大吉大利", "新人报到，发个小红包",
                                       "今天生日，大家吃糖🍬"};
// Spammers' display names: bait, or a harmless-looking name (then drawn like everyone's).
constexpr Pool<8> kSpamNames = {"福利官-小美", "兼职招聘", "Lucky888", "财富导师Anna",
                                "日结佳佳",    "VIP客服",  "小鹿兼职", "网赚达人"};

// Join requests (加群申请) to the QQ groups: the group's question and the applicants' answers.
// The camp asks where people heard of it (answered by the channel they came from, indexed like
// kCampQqChannels); the fan group asks for a favourite video.
constexpr std::string_view kCampQqQuestion = "你是从哪里知道7天成长营的？";
constexpr Pool<5> kCampQqAnswers = {"朋友推荐的", "B站看到的", "QQ空间", "知乎上看到的", "公众号"};
constexpr std::string_view kFansQqQuestion = "你最喜欢星河的哪一期视频？";
constexpr Pool<8> kFansQqAnswers = {"城市夜骑那期", "一百块挑战！", "和猫一起过周末", "全都喜欢",
                                    "第一期vlog", "翻唱那期", "露营翻车那期哈哈", "最新那期"};
constexpr Pool<5> kSpamAnswers = {"1", "交个朋友", "随便看看", "朋友拉的", "你好"};

enum class Community : uint8_t { kCamp, kFans };
enum class Platform : uint8_t { kWecom, kQq, kTelegram };
constexpr std::array<std::string_view, 3> kPlatformNames = {"wecom", "qq", "telegram"};
constexpr std::array<std::string_view, 2> kCommunitySlugs = {"camp", "fans"};

// Join channels per (community, platform). Index 0 is a referral (an earlier member invited
// them); the weights are percentages.
struct Channel {
  std::string_view code;
  uint8_t weight;
};
constexpr std::array<Channel, 7> kCampWecomChannels = {{{"", 25},
                                                        {"channel:wechat-article", 28},
                                                        {"channel:bilibili", 12},
                                                        {"channel:xiaohongshu", 12},
                                                        {"channel:douyin", 8},
                                                        {"qrcode:official-account", 10},
                                                        {"channel:video-account", 5}}};
constexpr std::array<Channel, 5> kCampQqChannels = {{{"", 25},
                                                     {"channel:bilibili", 30},
                                                     {"channel:qq-space", 20},
                                                     {"channel:zhihu", 15},
                                                     {"qrcode:official-account", 10}}};
constexpr std::array<Channel, 4> kFansTgChannels = {
    {{"", 30}, {"link:t.me-xinghe-fans", 40}, {"channel:bilibili", 20}, {"channel:weibo", 10}}};
constexpr std::array<Channel, 4> kFansQqChannels = {
    {{"", 30}, {"channel:bilibili", 35}, {"channel:weibo", 15}, {"qrcode:group", 20}}};
constexpr uint8_t kSpamChannel = 0xFF;  // spammers (and rejoiners) scan the group's QR code
constexpr std::string_view kQrCodeGroup = "qrcode:group";

template <size_t N>
uint8_t PickChannel(Rng& rng, const std::array<Channel, N>& channels) {
  uint32_t u = rng.Below(100);
  for (size_t i = 0; i < N; ++i) {
    if (u < channels[i].weight) return static_cast<uint8_t>(i);
    u -= channels[i].weight;
  }
  return 1;
}

inline std::string_view ChannelCode(Community c, Platform p, uint8_t channel) {
  if (channel == kSpamChannel) return kQrCodeGroup;
  if (c == Community::kCamp) {
    return p == Platform::kWecom ? kCampWecomChannels[channel].code : kCampQqChannels[channel].code;
  }
  return p == Platform::kTelegram ? kFansTgChannels[channel].code : kFansQqChannels[channel].code;
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers (no fmt: Next is the hot path of a load generator).

inline void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void AppendPadded(std::string& out, uint64_t v, int width) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  for (int pad = width - static_cast<int>(r.ptr - buf); pad > 0; --pad) out += '0';
  out.append(buf, r.ptr);
}

// `len` characters drawn from `alphabet` by hashing `h`.
inline void AppendCode(std::string& out, uint64_t h, int len, std::string_view alphabet) {
  for (int i = 0; i < len; ++i) {
    h = Mix64(h + 0x9E3779B97F4A7C15ull);
    out += alphabet[h % alphabet.size()];
  }
}
constexpr std::string_view kAlnum =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kDigits = "0123456789";

// Platform user ids: WeCom external ids "wm_00042"; QQ and Telegram numbers, scrambled by a
// bijection (the multiplier is coprime with the modulus) so neighbours do not look sequential.
inline void AppendMemberId(std::string& out, Platform p, uint32_t n) {
  switch (p) {
    case Platform::kWecom:
      out += "wm_";
      AppendPadded(out, n, 5);
      break;
    case Platform::kQq:
      AppendUint(out, 10'000'000 + (uint64_t{n} * 40'503'713 + 1'234'567) % 90'000'000);
      break;
    case Platform::kTelegram:
      AppendUint(out, 5'000'000'000ull + (uint64_t{n} * 40'503'713 + 7'654'321) % 1'000'000'000);
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Simulation state.

struct Staff {
  Platform platform;
  Role role;
  std::string id;
  std::string name;
};

struct Group {
  Community community;
  Platform platform;
  std::string slug;
  std::string name;
  uint32_t owner = 0;   // staff indices
  uint32_t admin = 0;   // removes spammers, tags members
  uint32_t helper = 0;  // camp: the assistant who answers; fans: a second admin
  // Today's schedule (ms into the day; -1 = not today) and counters.
  int32_t morning = -1, lesson = -1, summary = -1, share = -1;
  uint32_t checkins_before_summary = 0;
};

enum PersonFlag : uint8_t {
  kSpammer = 1,
  kRemoved = 2,  // a spammer the admin removes
  kRename = 4,   // renames to 昵称-城市-职业 the day after joining (camp rule)
  kSharer = 8,   // shares posters / invite links: a referral picks among sharers
  kTagged = 16,  // currently tagged 意向客户 (camp) or tagged 活跃粉丝 (fans)
};

struct Person {
  uint32_t ext_num = 0;  // number on the platform (shared with staff numbering)
  uint32_t name_seed = 0;
  uint32_t inviter = kNone;  // person index
  uint32_t activity = 0;     // expected messages a day in 1/256; multiplied by rate daily
  int32_t join_ms = 0, leave_ms = 0, rejoin_ms = 0;  // ms into the respective day
  uint16_t join_day = 0, leave_day = kNever, rejoin_day = kNever;
  uint16_t group = 0;
  uint16_t rate = 0;  // daily activity factor in 1/65536
  uint16_t msgs = 0;  // messages so far, saturating
  uint8_t flags = 0;
  uint8_t diligence = 0;  // check-in and lesson propensity, 0..255
  uint8_t channel = 0;
  // camp: day of the camp (1-based, from the join day) of the trial order, the sales-page
  // visit, the paid order; fans: days after joining of a merchandise order. 0 = never.
  uint8_t order_day = 0, intent_day = 0, paid_day = 0;

  int64_t JoinAbs() const { return int64_t{join_day} * kDayMs + join_ms; }
};

enum class Action : uint8_t {
  kStaffJoin,
  kRules,
  kJoin,
  kRejoin,
  kLeave,
  kRemove,
  kWarn,
  kWelcome,
  kChat,
  kQuestion,
  kAnswer,
  kAd,
  kCheckin,
  kMorning,
  kLessonLink,
  kSlides,
  kSummary,
  kLessonClick,
  kSalesClick,
  kShare,
  kShareClick,
  kRedPacket,
  kTrialOrder,
  kPaidOrder,
  kMerchOrder,
  kTagIntent,
  kTagPaid,
  kTagUnintent,
  kTagActive,
  kJoinRequest,  // a QQ member's request, minutes before their first join
  kSynced,       // the bot's member sync lists a staff member of a QQ or Telegram group
};

enum PlanFlag : uint8_t { kWantsReply = 1, kMentionReplied = 2 };

// One event to be, in 40 bytes. Strings are produced only when it is streamed.
struct Plan {
  TimeMs time;
  uint64_t id_num;  // assigned when streamed; replies read their target's
  uint32_t seq;     // creation order: the tie-break that makes the sort deterministic
  uint32_t who;     // person index, or kStaffBit | staff index
  uint32_t target;  // replied message: its seq until sorted, then its position; kNone if none
  uint32_t param;   // action-specific number (camp day, count, person, hash input)
  uint16_t group;
  Action action;
  uint8_t variant;  // action-specific choice (text in a pool, ad template)
  uint8_t kind;     // MessageKind of chat and ad messages
  uint8_t flags;
};

inline bool IsReplyable(Action a) {
  return a == Action::kChat || a == Action::kQuestion || a == Action::kAnswer ||
         a == Action::kMorning || a == Action::kShare || a == Action::kRedPacket;
}

}  // namespace demo_internal

// Internal to the demo's own .cpp files: the generator reads the simulation's types unqualified.
using namespace demo_internal;  // NOLINT(google-build-using-namespace)

struct DemoGenerator::Impl {
  explicit Impl(const DemoOptions& options);

  bool Next(Event& out);

 private:
  void BuildGroups(Community c, Platform p, uint32_t members, uint32_t per_group);
  void BuildPersons(Community c, Platform p, uint32_t n, uint16_t g0, uint16_t gn,
                    std::vector<Person>& out);
  uint32_t AddStaff(Platform p, Role role, std::string_view name, std::string_view wecom_id);

  Plan& Push(int32_t ms, Action action, uint32_t who, uint32_t group);
  void PlanDay(int d);
  void PlanPerson(uint32_t index, int d);
  void PlanMessage(uint32_t index, const Person& p, int32_t t);
  void ResolveReplies();

  void Materialize(Plan& r, Event& out);
  void SetWho(uint32_t who, Event& out);
  void AppendWhoId(uint32_t who, std::string& out) const;
  void AppendName(const Person& p, std::string& out) const;
  void AppendWhoName(uint32_t who, std::string& out) const;
  Platform PlatformOf(uint32_t who) const;

  uint64_t seed_;
  int days_;
  TimeMs start_;
  Rng rng_;
  std::vector<Staff> staff_;
  std::vector<Group> groups_;
  std::vector<Person> persons_;                // in join order
  std::array<uint32_t, 3> next_num_{1, 1, 1};  // per platform: the next user number

  // The day being streamed.
  int next_day_ = 0;
  int day_ = -1;
  TimeMs day_start_ = 0;
  size_t joined_ = 0;  // persons_[0, joined_) have joined by day_
  std::vector<Plan> plan_;
  size_t cursor_ = 0;
  std::vector<uint32_t> scratch_;         // seq -> position; per group last message
  std::array<uint64_t, 3> id_counter_{};  // per platform, shared by every event type
};

}  // namespace qz
