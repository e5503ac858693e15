// The complete validation a playbook gets before it is stored: the common sections and every
// registered module's section (src/app/modules.cpp), as the server and `playbook check` run it.
#include "app/modules.hpp"
#include "modules/schedule/schedule.hpp"
#include "modules/welcome/welcome.hpp"
#include "playbook/playbook.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace qz {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const ModuleRegistry& Registry() {
  static const std::unique_ptr<ModuleRegistry> kRegistry = [] {
    auto r = MakeModuleRegistry();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(*r);
  }();
  return *kRegistry;
}

Result<Playbook> Parse(std::string_view doc, std::string_view source = "playbook") {
  return ParsePlaybook(doc, source, Registry());
}

// The module sections (a playbook that parsed has every registered one).
const WelcomeConfig& Welcome(const Playbook& p) {
  static const WelcomeConfig kNone;
  const auto* w = p.Section<WelcomeConfig>("welcome");
  return w ? *w : kNone;
}
const std::vector<ScheduleSettings>& Schedules(const Playbook& p) {
  static const ScheduleConfig kNone;
  const auto* s = p.Section<ScheduleConfig>("schedules");
  return s ? s->schedules : kNone.schedules;
}

// The 1-based line of the first occurrence of `needle` in `doc` (so tests do not hard-code
// line numbers that drift when an example is edited).
int LineOf(std::string_view doc, std::string_view needle) {
  const size_t pos = doc.find(needle);
  EXPECT_NE(pos, std::string_view::npos) << needle;
  return 1 + static_cast<int>(std::count(doc.begin(), doc.begin() + pos, '\n'));
}

// Parses `doc` expecting failure; returns the status.
Status ParseError(std::string_view doc, std::string_view source = "camp.toml") {
  Result<Playbook> r = Parse(doc, source);
  EXPECT_FALSE(r.ok()) << "parsed unexpectedly:\n" << doc;
  return r.ok() ? Status::Internal("parsed") : r.status();
}

// Expects exactly one problem: `field`, at the line of `needle`, with `what` in the message.
void ExpectProblem(std::string_view doc, std::string_view needle, std::string_view field,
                   std::string_view what) {
  const Status st = ParseError(doc);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.field(), field);
  const std::string prefix =
      "camp.toml:" + std::to_string(LineOf(doc, needle)) + ": " + std::string(field) + ": ";
  EXPECT_THAT(st.message(), StartsWith(prefix));
  EXPECT_THAT(st.message(), HasSubstr(what));
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << "more than one problem:\n"
                                                        << st.message();
}

constexpr std::string_view kFull = R"toml(
[community]
slug = "camp"
name = "7天成长营"
time_zone = "Asia/Shanghai"
language = "zh"
rules = "1. 不发广告\n2. 昵称-城市-职业"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "7天成长营·1群"
type = "learning"
capacity = 200
rules = { zh = "一群群规", en = "Group one rules" }

[[groups]]
platform = "wecom"
id = "wr:abc"

[welcome]
enabled = true
text = { zh = "欢迎 {member.name} 加入{group.name}！请先看群规：\n{group.rules}", en = "Welcome {member.name} to {group.name}! Please read the rules:\n{group.rules}" }

[[schedules]]
name = "morning"
rule = "daily 06:20"
group = "sandbox:camp-1"
text = "早安！今天也要加油 ☀️"

[[schedules]]
name = "evening"
rule = "WEEKLY mon,wed 21:30"
group = "wecom:wr:abc"
text = { en = "Good night, {community.name}. {date} {time}" }
)toml";

TEST(ParsePlaybook, FullExample) {
  Result<Playbook> r = Parse(kFull, "camp.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Playbook& p = *r;
  EXPECT_EQ(p.community, "camp");
  EXPECT_EQ(p.name, "7天成长营");
  EXPECT_EQ(p.time_zone, "Asia/Shanghai");
  EXPECT_EQ(p.language, Language::kZh);
  EXPECT_EQ(p.rules.zh, "1. 不发广告\n2. 昵称-城市-职业");
  EXPECT_EQ(p.rules.en, "");

  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.groups[0].platform, "sandbox");
  EXPECT_EQ(p.groups[0].id, "camp-1");
  EXPECT_EQ(p.groups[0].name, "7天成长营·1群");
  EXPECT_EQ(p.groups[0].type, GroupType::kLearning);
  EXPECT_EQ(p.groups[0].capacity, 200);
  EXPECT_EQ(p.groups[0].rules.zh, "一群群规");
  EXPECT_EQ(p.groups[0].rules.en, "Group one rules");
  EXPECT_EQ(p.groups[1].platform, "wecom");
  EXPECT_EQ(p.groups[1].id, "wr:abc");
  EXPECT_EQ(p.groups[1].type, GroupType::kUnspecified);
  EXPECT_EQ(p.groups[1].capacity, kDefaultGroupCapacity);
  EXPECT_TRUE(p.groups[1].rules.empty());

  EXPECT_TRUE(Welcome(p).enabled);
  EXPECT_EQ(Welcome(p).text.zh, "欢迎 {member.name} 加入{group.name}！请先看群规：\n{group.rules}");
  EXPECT_THAT(Welcome(p).text.en, StartsWith("Welcome {member.name}"));

  ASSERT_EQ(Schedules(p).size(), 2u);
  EXPECT_EQ(Schedules(p)[0].name, "morning");
  EXPECT_EQ(Schedules(p)[0].rule, "daily 06:20");
  EXPECT_EQ(Schedules(p)[0].groups, std::vector<std::string>{"sandbox:camp-1"});
  EXPECT_EQ(Schedules(p)[0].text.zh, "早安！今天也要加油 ☀️");
  EXPECT_EQ(Schedules(p)[1].rule, "WEEKLY mon,wed 21:30");
  EXPECT_EQ(Schedules(p)[1].groups, std::vector<std::string>{"wecom:wr:abc"});
  EXPECT_EQ(Schedules(p)[1].text.zh, "");
  EXPECT_EQ(Schedules(p)[1].text.en, "Good night, {community.name}. {date} {time}");
}

TEST(ParsePlaybook, MinimalHasDefaults) {
  Result<Playbook> r = Parse("[community]\nslug = \"c_1-x\"\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->community, "c_1-x");
  EXPECT_EQ(r->name, "c_1-x");  // defaults to the slug
  EXPECT_EQ(r->time_zone, kDefaultTimeZone);
  EXPECT_EQ(r->language, Language::kZh);
  EXPECT_TRUE(r->rules.empty());
  EXPECT_TRUE(r->groups.empty());
  EXPECT_FALSE(Welcome(*r).enabled);  // no [welcome]: disabled
  EXPECT_TRUE(Schedules(*r).empty());
}

// FindGroup answers from an index for every group of a large playbook, and misses cleanly.
TEST(ParsePlaybook, EveryGroupOfAManyGroupPlaybookIsFound) {
  std::string doc = "[community]\nslug = \"big\"\n";
  for (int i = 0; i < 300; ++i) {
    doc += fmt::format("[[groups]]\nplatform = \"{}\"\nid = \"g{}\"\ncapacity = {}\n",
                       i % 2 == 0 ? "qq" : "telegram", i, 100 + i);
  }
  Result<Playbook> r = Parse(doc);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->groups.size(), 300u);
  ASSERT_EQ(r->group_index.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    const GroupSettings* g = r->FindGroup(i % 2 == 0 ? "qq" : "telegram", fmt::format("g{}", i));
    ASSERT_NE(g, nullptr) << i;
    EXPECT_EQ(g->capacity, 100 + i);
  }
  EXPECT_EQ(r->FindGroup("telegram", "g0"), nullptr);  // g0 is a QQ group
  EXPECT_EQ(r->FindGroup("qq", "g300"), nullptr);
  EXPECT_EQ(r->FindGroup("qq", ""), nullptr);
  // A group added after parsing, without IndexGroups, is still found (the index no longer covers
  // every group: a scan), and again through the index once it is rebuilt.
  GroupSettings added = r->groups.front();
  added.platform = "wecom";
  added.id = "late";
  r->groups.push_back(added);
  ASSERT_NE(r->FindGroup("wecom", "late"), nullptr);
  r->IndexGroups();
  ASSERT_NE(r->FindGroup("wecom", "late"), nullptr);
  EXPECT_EQ(r->group_index.size(), r->groups.size());
}

TEST(ParsePlaybook, TimeZonesAndLanguage) {
  for (std::string_view tz : {"UTC", "Asia/Shanghai", "America/Argentina/Buenos_Aires", "Etc/GMT+8",
                              "America/Port-au-Prince"}) {
    std::string doc =
        "[community]\nslug = \"c\"\nlanguage = \"en\"\ntime_zone = \"" + std::string(tz) + "\"\n";
    Result<Playbook> r = Parse(doc);
    ASSERT_TRUE(r.ok()) << tz << ": " << r.status().message();
    EXPECT_EQ(r->time_zone, tz);
    EXPECT_EQ(r->language, Language::kEn);
  }
  for (std::string_view tz : {"", "Shanghai", "asia/shanghai", "Asia/", "Asia/../etc/passwd",
                              "Mars/Olympus", "+08:00", "Asia//Shanghai"}) {
    std::string doc = "[community]\nslug = \"c\"\ntime_zone = \"" + std::string(tz) + "\"\n";
    ExpectProblem(doc, "time_zone", "community.time_zone", "is not an IANA time zone name");
  }
}

// --- one test per class of error: the field is the key path, the message has the line ---

TEST(ParsePlaybookErrors, UnknownKeys) {
  std::string doc = "[community]\nslug = \"camp\"\n\n[welcome]\ntxt = \"hi\"\ntext = \"hi\"\n";
  ExpectProblem(doc, "txt", "welcome.txt", "unknown key (expected one of: enabled, text, merge_window, max_names, follow_up_after, follow_up, steps)");

  doc = R"toml([community]
slug = "camp"

[[groups]]
platform = "sandbox"
id = "a"

[[groups]]
platform = "sandbox"
id = "b"

[[groups]]
platform = "sandbox"
id = "c"
capcity = 5
)toml";
  ExpectProblem(doc, "capcity", "groups[2].capcity", "unknown key");

  ExpectProblem("[community]\nslug = \"c\"\n[checkins]\nx = 1\n", "[checkins]", "checkins",
                "unknown key (expected one of: community, groups, moderation, invites, verify, welcome, answers, schedules, courses, timelines, announcements, roster, example)");
  ExpectProblem("[community]\nslug = \"c\"\nrules = { zh = \"a\", fr = \"b\" }\n", "rules",
                "community.rules.fr", "expected one of: zh, en");
  ExpectProblem("[community]\nslug = \"c\"\n\"群 规\" = \"x\"\n", "群 规", "community.\"群 规\"",
                "unknown key");
}

TEST(ParsePlaybookErrors, WrongTypes) {
  ExpectProblem(
      "[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\nid = \"g\"\n"
      "capacity = \"500\"\n",
      "capacity", "groups[0].capacity", "expected an integer, got a string");
  ExpectProblem("[community]\nslug = \"c\"\n[welcome]\nenabled = \"yes\"\ntext = \"hi\"\n",
                "enabled", "welcome.enabled", "expected a boolean (true or false), got a string");
  ExpectProblem("[community]\nslug = \"c\"\nrules = 42\n", "rules", "community.rules",
                "expected a string or a table { zh = \"…\", en = \"…\" }, got an integer");
  ExpectProblem("[community]\nslug = \"c\"\nrules = { zh = [\"a\"] }\n", "rules",
                "community.rules.zh", "expected a string, got an array");
  ExpectProblem("[community]\nslug = 7\n", "slug", "community.slug",
                "expected a string, got an integer");
  ExpectProblem("community = \"camp\"\n", "community", "community",
                "expected a table, got a string");
  ExpectProblem("[community]\nslug = \"c\"\n\n[groups]\nplatform = \"sandbox\"\n", "[groups]",
                "groups", "expected an array of tables ([[groups]]), got a table");
  ExpectProblem("schedules = [1]\n[community]\nslug = \"c\"\n", "schedules", "schedules[0]",
                "expected a table ([[schedules]]), got an integer");
  ExpectProblem(
      "[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\nid = \"g\"\n"
      "capacity = 5.5\n",
      "capacity", "groups[0].capacity", "got a float");
}

TEST(ParsePlaybookErrors, BadValues) {
  ExpectProblem("[community]\nslug = \"Camp!\"\n", "slug", "community.slug", "is not a slug");
  ExpectProblem("[community]\nslug = \"" + std::string(65, 'a') + "\"\n", "slug", "community.slug",
                "is not a slug");
  ExpectProblem("[community]\nslug = \"c\"\nlanguage = \"fr\"\n", "language", "community.language",
                "\"fr\" is not a language: use zh or en");
  const std::string group =
      "[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\n"
      "id = \"g\"\n";
  ExpectProblem(group + "type = \"vip\"\n", "type", "groups[0].type",
                "\"vip\" is not a group type");
  ExpectProblem(group + "capacity = 0\n", "capacity", "groups[0].capacity",
                "0 is out of range (1 to 100000)");
  ExpectProblem(group + "capacity = 100001\n", "capacity", "groups[0].capacity", "out of range");
  ExpectProblem(group + "invite = \"t.me/+abc\"\n", "invite", "groups[0].invite", "is not an http(s) URL");
  ExpectProblem(group + "invite = \"https://t.me/+a\\r\\nLocation: x\"\n", "invite", "groups[0].invite",
                "is not an http(s) URL");
  ExpectProblem("[community]\nslug = \"c\"\n[[groups]]\nplatform = \"Sand Box\"\nid = \"g\"\n",
                "platform", "groups[0].platform", "is not a platform name");
  ExpectProblem("[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\nid = \"\"\n",
                "id = ", "groups[0].id", "must be 1 to 256 bytes");
}

TEST(ParsePlaybookErrors, Answers) {
  const std::string base = "[community]\nslug = \"c\"\n[answers]\n";
  ExpectProblem(base + "cooldown = \"soon\"\n", "cooldown", "answers.cooldown", "not a duration");
  ExpectProblem(base + "[[answers.faq]]\nmatch = \"regex\"\nkeywords = [\"(unclosed\"]\nanswer = \"x\"\n",
                "keywords", "answers.faq[0].keywords", "'(unclosed' does not compile");
  ExpectProblem(base + "[[answers.faq]]\nmatch = \"fuzzy\"\nkeywords = [\"a\"]\nanswer = \"x\"\n", "match",
                "answers.faq[0].match", "'fuzzy' is not one of contains, exact, regex");
  ExpectProblem(base + "[[answers.faq]]\nkeywords = [\"上课\"]\n", "[[answers.faq]]", "answers.faq[0].answer",
                "required");
  ExpectProblem(base + "[[answers.faq]]\nkeywords = []\nanswer = \"x\"\n", "keywords",
                "answers.faq[0].keywords", "at least one keyword");
  ExpectProblem(base + "[[answers.faq]]\nkeywords = [\"上课\"]\nanswer = \"{member.nmae}\"\n", "answer = ",
                "answers.faq[0].answer", "member.nmae");
  EXPECT_TRUE(Parse(base + "cooldown = \"off\"\nunanswered_after = \"off\"\n").ok());
}

TEST(ParsePlaybookErrors, MissingRequired) {
  const Status st = ParseError("[welcome]\nenabled = false\n");
  EXPECT_EQ(st.field(), "community");
  EXPECT_EQ(st.message(), "camp.toml: community: required section [community] is missing");

  ExpectProblem("\n[community]\nname = \"x\"\n", "[community]", "community.slug", "required");
  ExpectProblem("[community]\nslug = \"c\"\n\n[[groups]]\nid = \"g\"\n", "[[groups]]",
                "groups[0].platform", "required");
  ExpectProblem("[community]\nslug = \"c\"\n\n[[groups]]\nplatform = \"sandbox\"\n", "[[groups]]",
                "groups[0].id", "required");
  ExpectProblem("[community]\nslug = \"c\"\n\n[welcome]\nenabled = true\n", "[welcome]",
                "welcome.text", "required when welcome is enabled");
  ExpectProblem("[community]\nslug = \"c\"\n\n[welcome]\ntext = { en = \"\" }\n", "text",
                "welcome.text", "must not be empty");
  const std::string sched = "[community]\nslug = \"c\"\n\n[[schedules]]\n";
  ExpectProblem(sched + "rule = \"daily 06:20\"\ngroup = \"sandbox:g\"\ntext = \"x\"\n",
                "[[schedules]]", "schedules[0].name", "required");
  ExpectProblem(sched + "name = \"m\"\ngroup = \"sandbox:g\"\ntext = \"x\"\n", "[[schedules]]",
                "schedules[0].rule", "required");
  ExpectProblem(sched + "name = \"m\"\nrule = \"daily 06:20\"\ntext = \"x\"\n", "[[schedules]]",
                "schedules[0].group", "required");
  ExpectProblem(sched + "name = \"m\"\nrule = \"daily 06:20\"\ngroup = \"sandbox:g\"\n",
                "[[schedules]]", "schedules[0].text", "required");
  ExpectProblem(sched +
                    "name = \"m\"\nrule = \"daily 06:20\"\ngroup = \"sandbox:g\"\n"
                    "text = \"\"\n",
                "text", "schedules[0].text", "must not be empty");
}

TEST(ParsePlaybookErrors, DisabledWelcomeNeedsNoText) {
  Result<Playbook> r = Parse("[community]\nslug = \"c\"\n[welcome]\nenabled = false\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(Welcome(*r).enabled);
}

TEST(ParsePlaybookErrors, Duplicates) {
  const std::string groups = R"toml([community]
slug = "c"

[[groups]]
platform = "sandbox"
id = "g1"

[[groups]]
platform = "sandbox"
id = "g2"

[[groups]]
platform = "sandbox"
id = "g1"
)toml";
  const Status st = ParseError(groups);
  EXPECT_EQ(st.field(), "groups[2].id");
  EXPECT_EQ(st.message(),
            "camp.toml:14: groups[2].id: duplicate group sandbox:g1 (first "
            "declared as groups[0], line 4)");
  // The same id on another platform is another group.
  const std::string other =
      groups.substr(0, groups.rfind("platform")) + "platform = \"qq\"\n" + "id = \"g1\"\n";
  EXPECT_TRUE(Parse(other).ok()) << other;

  const std::string schedules = R"toml([community]
slug = "c"

[[schedules]]
name = "morning"
rule = "daily 06:20"
group = "sandbox:g"
text = "a"

[[schedules]]
name = "morning"
rule = "daily 07:20"
group = "sandbox:g"
text = "b"
)toml";
  const Status st2 = ParseError(schedules);
  EXPECT_EQ(st2.field(), "schedules[1].name");
  EXPECT_EQ(st2.message(),
            "camp.toml:11: schedules[1].name: duplicate schedule name "
            "\"morning\" (first used by schedules[0], line 5)");
}

TEST(ParsePlaybookErrors, ScheduleGroupAndRule) {
  const std::string head =
      "[community]\nslug = \"c\"\n[[schedules]]\nname = \"m\"\n"
      "text = \"x\"\n";
  for (std::string_view bad : {"camp-1", ":camp-1", "sandbox:", "Sand box:g"}) {
    ExpectProblem(head + "rule = \"daily 06:20\"\ngroup = \"" + std::string(bad) + "\"\n", "group",
                  "schedules[0].group", "is not \"platform:id\"");
  }
  for (std::string_view bad : {"", "   ", "06:20 daily", "dailyx 06:20"}) {
    ExpectProblem(head + "group = \"sandbox:g\"\nrule = \"" + std::string(bad) + "\"\n", "rule",
                  "schedules[0].rule", "expected daily, weekly, cron, every or at");
  }
  ExpectProblem(head + "group = \"sandbox:g\"\nrule = \"at 06:20\"\n", "rule", "schedules[0].rule",
                "expected 'at YYYY-MM-DD HH:MM'");
  for (std::string_view good :
       {"daily 06:20", "  Every 15m", "cron 20 6 * * 1-5", "weekly\tmon 20:00"}) {
    const std::string doc = head + "group = \"sandbox:g\"\nrule = \"" + std::string(good) + "\"\n";
    EXPECT_TRUE(Parse(doc).ok()) << good;
  }
  ExpectProblem(
      "[community]\nslug = \"c\"\n[[schedules]]\nname = \"早安\"\nrule = \"daily 06:20\"\n"
      "group = \"sandbox:g\"\ntext = \"x\"\n",
      "name", "schedules[0].name", "is not a schedule name");
}

TEST(ParsePlaybookErrors, TemplateVariables) {
  // The example from the brief, verbatim.
  const std::string doc =
      "[community]\nslug = \"camp\"\n\n[welcome]\nenabled = true\n"
      "text = \"欢迎 {member.nick}\"\n";
  const Status st = ParseError(doc);
  EXPECT_EQ(st.field(), "welcome.text");
  EXPECT_EQ(st.message(),
            "camp.toml:6: welcome.text: unknown template variable {member.nick} "
            "(known: member.name, group.name, group.rules, community.name, date, "
            "time)");

  // In the table form the path names the language.
  ExpectProblem(
      "[community]\nslug = \"c\"\n[welcome]\ntext = { zh = \"好\", en = \"Hi {name}\" }\n", "text",
      "welcome.text.en", "unknown template variable {name}");
  // Schedules have no member.
  ExpectProblem(
      "[community]\nslug = \"c\"\n[[schedules]]\nname = \"m\"\nrule = \"daily 06:20\"\n"
      "group = \"sandbox:g\"\ntext = \"早安 {member.name}\"\n",
      "text", "schedules[0].text",
      "{member.name} cannot be used in a text sent to a group, which has no member (known: "
      "group.name, group.rules, community.name, date, time)");
  const std::string welcome = "[community]\nslug = \"c\"\n[welcome]\ntext = ";
  ExpectProblem(welcome + "\"a { b\"\n", "text", "welcome.text", "unclosed '{'");
  ExpectProblem(welcome + "\"a } b\"\n", "text", "welcome.text", "unmatched '}'");
  ExpectProblem(welcome + "\"{}\"\n", "text", "welcome.text", "unknown template variable {}");
  ExpectProblem(welcome + "\"{ member.name }\"\n", "text", "welcome.text",
                "unknown template variable { member.name }");
  // Literal braces and every variable are fine; rules are plain text, braces and all.
  Result<Playbook> r = Parse(
      "[community]\nslug = \"c\"\nrules = \"{不是变量} }\"\n[welcome]\ntext = \"{{x}} "
      "{member.name}{group.name}{group.rules}{community.name}{date}{time}\"\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rules.zh, "{不是变量} }");
}

TEST(ParsePlaybookErrors, SyntaxErrorHasLineAndColumn) {
  const Status st = ParseError("[community]\nslug = \"camp\"\nname = \n");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.field(), "");
  EXPECT_THAT(st.message(), StartsWith("camp.toml:3:"));
  EXPECT_THAT(st.message(), HasSubstr("TOML syntax error"));

  const Status dup = ParseError("[community]\nslug = \"a\"\nslug = \"b\"\n");
  EXPECT_THAT(dup.message(), StartsWith("camp.toml:3:"));
  // Invalid UTF-8 is a syntax error too, not a crash.
  const Status utf8 = ParseError("[community]\nslug = \"c\"\nname = \"\xff\xfe\"\n");
  EXPECT_THAT(utf8.message(), HasSubstr("TOML syntax error"));
}

TEST(ParsePlaybookErrors, AllProblemsInDocumentOrder) {
  const std::string doc = R"toml([welcome]
txt = "x"

[community]
slug = "BAD"
zone = "x"

[[groups]]
platform = "sandbox"
id = "g"
capacity = -1
)toml";
  const Status st = ParseError(doc);
  EXPECT_EQ(st.field(), "welcome.text");  // the first in the file, though toml++ sorts keys
  EXPECT_EQ(st.message(),
            "camp.toml:1: welcome.text: required when welcome is enabled\n"
            "camp.toml:2: welcome.txt: unknown key (expected one of: enabled, text, merge_window, "
            "max_names, follow_up_after, follow_up, steps)\n"
            "camp.toml:5: community.slug: \"BAD\" is not a slug: use 1 to 64 of a-z 0-9 _ -\n"
            "camp.toml:6: community.zone: unknown key (expected one of: slug, name, time_zone, "
            "language, rules, quiet_hours, holidays)\n"
            "camp.toml:11: groups[0].capacity: -1 is out of range (1 to 100000)");
}

TEST(ParsePlaybookErrors, ManyProblemsAreCapped) {
  std::string doc = "[community]\nslug = \"c\"\n";
  for (int i = 0; i < 30; ++i) doc += "k" + std::to_string(i) + " = 1\n";
  const Status st = ParseError(doc);
  EXPECT_EQ(std::count(st.message().begin(), st.message().end(), '\n'), 20);
  EXPECT_THAT(st.message(), HasSubstr("… and 10 more"));
}

TEST(ParsePlaybookErrors, TooLarge) {
  const std::string doc = "[community]\nslug = \"c\"\n# " + std::string(1 << 20, 'x') + "\n";
  EXPECT_THAT(ParseError(doc).message(), HasSubstr("larger than"));
}

TEST(ParsePlaybook, TextsAreStringOrTable) {
  const std::string doc = R"toml([community]
slug = "c"
rules = "只有中文"

[[groups]]
platform = "sandbox"
id = "g"
rules = { en = "English only" }

[welcome.text]
zh = "欢迎"
en = "Welcome"
)toml";
  Result<Playbook> r = Parse(doc);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rules.zh, "只有中文");
  EXPECT_EQ(r->rules.en, "");
  EXPECT_EQ(r->groups[0].rules.zh, "");
  EXPECT_EQ(r->groups[0].rules.en, "English only");
  EXPECT_TRUE(Welcome(*r).enabled);
  EXPECT_EQ(Welcome(*r).text.zh, "欢迎");
  EXPECT_EQ(Welcome(*r).text.en, "Welcome");
}

TEST(Render, AllVariablesInChinese) {
  const LocalizedText text{
      "欢迎 {member.name} 加入{group.name}！\n群规：{group.rules}\n"
      "——{community.name} {date} {time}",
      ""};
  const TemplateVars vars{"小明",      "7天成长营·1群", "1. 不发广告",
                          "7天成长营", "2026-03-01",    "06:20"};
  EXPECT_EQ(Render(text, Language::kZh, vars),
            "欢迎 小明 加入7天成长营·1群！\n群规：1. 不发广告\n——7天成长营 2026-03-01 06:20");
}

TEST(Render, LiteralBracesAndEdgeCases) {
  TemplateVars vars;
  vars.member_name = "{group.name}";  // substituted values are not expanded again
  vars.group_name = "G";
  EXPECT_EQ(Render({"{{member.name}} = {member.name}", ""}, Language::kZh, vars),
            "{member.name} = {group.name}");
  EXPECT_EQ(Render({"}}{{{{}}", ""}, Language::kZh, vars), "}{{}");
  EXPECT_EQ(Render({"{{{group.name}}}", ""}, Language::kZh, vars), "{G}");
  // What parsing rejects is left as is.
  EXPECT_EQ(Render({"a {nope} b", ""}, Language::kZh, vars), "a {nope} b");
  EXPECT_EQ(Render({"a } b", ""}, Language::kZh, vars), "a } b");
  EXPECT_EQ(Render({"a {group.name", ""}, Language::kZh, vars), "a {group.name");
  EXPECT_EQ(Render({"", ""}, Language::kZh, vars), "");
  EXPECT_EQ(Render({"无变量的中文 ☀️", ""}, Language::kZh, vars),
            "无变量的中文 ☀️");
}

TEST(Render, LanguageAndFallback) {
  const TemplateVars vars{"Ming", "", "", "", "", ""};
  const LocalizedText both{"你好 {member.name}", "Hi {member.name}"};
  EXPECT_EQ(Render(both, Language::kZh, vars), "你好 Ming");
  EXPECT_EQ(Render(both, Language::kEn, vars), "Hi Ming");
  const LocalizedText zh_only{"你好 {member.name}", ""};
  EXPECT_EQ(Render(zh_only, Language::kEn, vars), "你好 Ming");
  const LocalizedText en_only{"", "Hi {member.name}"};
  EXPECT_EQ(Render(en_only, Language::kZh, vars), "Hi Ming");

  EXPECT_EQ(Pick(both, Language::kEn), "Hi {member.name}");
  EXPECT_EQ(Pick(zh_only, Language::kEn), "你好 {member.name}");
  EXPECT_EQ(Pick(en_only, Language::kZh), "Hi {member.name}");
  EXPECT_EQ(Pick({}, Language::kZh), "");
}

TEST(Playbook, FindGroupAndRulesFor) {
  Result<Playbook> r = Parse(kFull);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const GroupSettings* g = r->FindGroup("sandbox", "camp-1");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "7天成长营·1群");
  EXPECT_EQ(r->FindGroup("wecom", "camp-1"), nullptr);
  EXPECT_EQ(r->FindGroup("sandbox", "camp-2"), nullptr);
  EXPECT_EQ(r->RulesFor("sandbox", "camp-1").zh, "一群群规");  // its own
  EXPECT_EQ(r->RulesFor("wecom", "wr:abc").zh, r->rules.zh);   // listed, no rules of its own
  EXPECT_EQ(r->RulesFor("qq", "unknown").zh, r->rules.zh);     // not listed
}

TEST(ParseGroupRef, Splits) {
  auto ref = ParseGroupRef("wecom:wr:abc");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->platform, "wecom");
  EXPECT_EQ(ref->id, "wr:abc");
  EXPECT_FALSE(ParseGroupRef("wecom"));
  EXPECT_FALSE(ParseGroupRef("wecom:"));
  EXPECT_FALSE(ParseGroupRef(":x"));
  EXPECT_FALSE(ParseGroupRef("WeCom:x"));
  EXPECT_FALSE(ParseGroupRef("wecom:" + std::string(257, 'x')));
}

TEST(PlaybookSet, ForAndWith) {
  const PlaybookSet empty;
  const Playbook& none = empty.For("camp");
  EXPECT_EQ(none.community, "");
  EXPECT_FALSE(Welcome(none).enabled);
  EXPECT_TRUE(Schedules(none).empty());
  EXPECT_EQ(&none, &empty.For("other"));  // one static default

  auto camp = std::make_shared<Playbook>();
  camp->community = "camp";
  camp->name = "v1";
  std::shared_ptr<const PlaybookSet> one = empty.With(camp);
  EXPECT_EQ(one->For("camp").name, "v1");
  EXPECT_EQ(one->For("fans").community, "");
  EXPECT_TRUE(empty.all().empty());  // the original is unchanged

  auto camp2 = std::make_shared<Playbook>(*camp);
  camp2->name = "v2";
  auto fans = std::make_shared<Playbook>();
  fans->community = "fans";
  std::shared_ptr<const PlaybookSet> two = one->With(camp2)->With(fans);
  EXPECT_EQ(two->all().size(), 2u);
  EXPECT_EQ(two->For("camp").name, "v2");  // replaced
  EXPECT_EQ(two->For("fans").community, "fans");
  EXPECT_EQ(one->For("camp").name, "v1");  // readers of the old set still see the old one
  EXPECT_EQ(one->all().size(), 1u);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Presets, EveryFileParses) {
  const std::filesystem::path dir = std::filesystem::path(QZ_SOURCE_DIR) / "playbooks";
  std::map<std::string, Playbook> by_file;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    const std::string name = entry.path().filename().string();
    Result<Playbook> r = Parse(ReadFile(entry.path()), name);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const Playbook& p = *r;
    // Every preset is complete and bilingual, and works with the sandbox platform.
    EXPECT_FALSE(p.rules.zh.empty()) << name;
    EXPECT_FALSE(p.rules.en.empty()) << name;
    EXPECT_TRUE(Welcome(p).enabled) << name;
    EXPECT_FALSE(Welcome(p).text.zh.empty()) << name;
    EXPECT_FALSE(Welcome(p).text.en.empty()) << name;
    EXPECT_NE(Welcome(p).text.zh.find("{group.rules}"), std::string::npos) << name;
    EXPECT_FALSE(Schedules(p).empty()) << name;
    ASSERT_FALSE(p.groups.empty()) << name;
    for (const GroupSettings& g : p.groups) EXPECT_EQ(g.platform, "sandbox") << name;
    for (const ScheduleSettings& s : Schedules(p)) {
      EXPECT_FALSE(s.text.zh.empty()) << name << " " << s.name;
      EXPECT_FALSE(s.text.en.empty()) << name << " " << s.name;
      for (const std::string& group : s.groups) {
        auto ref = ParseGroupRef(group);
        ASSERT_TRUE(ref.has_value()) << name << " " << s.name;
        EXPECT_NE(p.FindGroup(ref->platform, ref->id), nullptr) << name << " " << s.name;
      }
    }
    by_file[name] = p;
  }
  const std::map<std::string, GroupType> expected = {{"learning-camp.toml", GroupType::kLearning},
                                                     {"interest.toml", GroupType::kInterest},
                                                     {"core-user.toml", GroupType::kCoreUser},
                                                     {"conversion.toml", GroupType::kConversion},
                                                     {"industry.toml", GroupType::kIndustry}};
  for (const auto& [file, type] : expected) {
    ASSERT_TRUE(by_file.count(file)) << file << " missing from playbooks/";
    for (const GroupSettings& g : by_file[file].groups) EXPECT_EQ(g.type, type) << file;
  }
  const Playbook& camp = by_file["learning-camp.toml"];
  EXPECT_EQ(camp.community, "camp");
  EXPECT_NE(camp.rules.zh.find("昵称-城市-职业"), std::string::npos);
  bool morning = false;
  for (const ScheduleSettings& s : Schedules(camp)) morning |= s.rule == "daily 06:20";
  EXPECT_TRUE(morning);
  EXPECT_GE(Schedules(camp).size(), 2u);
  for (const GroupSettings& g : by_file["core-user.toml"].groups) EXPECT_LT(g.capacity, 100);
}

}  // namespace
}  // namespace qz
