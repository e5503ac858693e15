#include "demo/demo.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

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
namespace {

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

std::string_view ChannelCode(Community c, Platform p, uint8_t channel) {
  if (channel == kSpamChannel) return kQrCodeGroup;
  if (c == Community::kCamp) {
    return p == Platform::kWecom ? kCampWecomChannels[channel].code : kCampQqChannels[channel].code;
  }
  return p == Platform::kTelegram ? kFansTgChannels[channel].code : kFansQqChannels[channel].code;
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers (no fmt: Next is the hot path of a load generator).

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendPadded(std::string& out, uint64_t v, int width) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  for (int pad = width - static_cast<int>(r.ptr - buf); pad > 0; --pad) out += '0';
  out.append(buf, r.ptr);
}

// `len` characters drawn from `alphabet` by hashing `h`.
void AppendCode(std::string& out, uint64_t h, int len, std::string_view alphabet) {
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
void AppendMemberId(std::string& out, Platform p, uint32_t n) {
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

bool IsReplyable(Action a) {
  return a == Action::kChat || a == Action::kQuestion || a == Action::kAnswer ||
         a == Action::kMorning || a == Action::kShare || a == Action::kRedPacket;
}

}  // namespace

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
