#include "playbook/playbook.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <new>
#include <optional>
#include <map>
#include <set>
#include <utility>

#include "core/time.hpp"
#include "playbook/section.hpp"

namespace qz {
namespace {

// Playbooks are small hand-written files; the cap keeps a bad upload from costing much.
constexpr size_t kMaxPlaybookBytes = size_t{1} << 20;
constexpr size_t kMaxSlugBytes = 64;
constexpr size_t kMaxPlatformBytes = 32;
constexpr size_t kMaxGroupIdBytes = 256;
constexpr int64_t kMinCapacity = 1;
constexpr int64_t kMaxCapacity = 100000;
constexpr size_t kMaxInviteBytes = 1024;

bool IsLowerSlugChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// [a-z0-9_-]{1,max_bytes}
bool IsSlug(std::string_view s, size_t max_bytes) {
  return !s.empty() && s.size() <= max_bytes && std::all_of(s.begin(), s.end(), IsLowerSlugChar);
}

// "UTC" or Area/Location[/Sub] with a known IANA area: the shape, checked before the tz database
// is asked (the character set keeps "." out, so a name can never walk out of zoneinfo).
bool IsTimeZoneName(std::string_view tz) {
  if (tz == "UTC") return true;
  static constexpr std::array<std::string_view, 11> kAreas = {
      "Africa",    "America", "Antarctica", "Arctic",  "Asia", "Atlantic",
      "Australia", "Europe",  "Indian",     "Pacific", "Etc"};
  if (tz.size() > 64) return false;
  size_t slash = tz.find('/');
  if (slash == std::string_view::npos) return false;
  if (std::find(kAreas.begin(), kAreas.end(), tz.substr(0, slash)) == kAreas.end()) return false;
  std::string_view rest = tz.substr(slash + 1);
  while (true) {
    size_t next = rest.find('/');
    std::string_view part = rest.substr(0, next);
    if (part.empty() || !IsAlnum(part.front())) return false;
    for (char c : part) {
      if (!IsAlnum(c) && c != '_' && c != '-' && c != '+') return false;
    }
    if (next == std::string_view::npos) return true;
    rest = rest.substr(next + 1);
  }
}

std::string JoinVariables(TextKind kind) {
  std::string out;
  for (std::string_view name : kTemplateVariables) {
    if (kind == TextKind::kGroup && name == "member.name") continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// The template grammar: "{{" and "}}" are literal braces, "{name}" a variable the kind allows;
// any other brace is an error (a lone brace is almost always a typo for a variable). Returns
// the problem, or nullopt when `text` is a valid template.
std::optional<std::string> CheckTemplate(std::string_view text, TextKind kind) {
  if (kind == TextKind::kPlain) return std::nullopt;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        i += 2;
        continue;
      }
      const size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return fmt::format("unclosed '{{' in \"{}\" (write {{{{ for a literal brace)",
                           Excerpt(text.substr(i), 40));
      }
      const std::string_view name = text.substr(i + 1, close - i - 1);
      const bool known = std::find(kTemplateVariables.begin(), kTemplateVariables.end(), name) !=
                         kTemplateVariables.end();
      if (known && kind == TextKind::kGroup && name == "member.name") {
        return fmt::format(
            "{{member.name}} cannot be used in a text sent to a group, which has no member "
            "(known: {})",
            JoinVariables(kind));
      }
      if (!known) {
        return fmt::format("unknown template variable {{{}}} (known: {})", Excerpt(name, 40),
                           JoinVariables(kind));
      }
      i = close + 1;
    } else if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        i += 2;
        continue;
      }
      return std::string("unmatched '}' (write }} for a literal brace)");
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

const std::string* LookupVariable(std::string_view name, const TemplateVars& vars) {
  if (name == "member.name") return &vars.member_name;
  if (name == "group.name") return &vars.group_name;
  if (name == "group.rules") return &vars.group_rules;
  if (name == "community.name") return &vars.community_name;
  if (name == "date") return &vars.date;
  if (name == "time") return &vars.time;
  return nullptr;
}

}  // namespace

bool IsHttpUrl(std::string_view url, size_t max_bytes) {
  if (url.size() > max_bytes || !(url.starts_with("https://") || url.starts_with("http://"))) return false;
  // Nothing that could end a header line or a quoted attribute where the URL is written.
  return std::none_of(url.begin(), url.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F || c == '"' || c == '<' || c == '>';
  });
}

namespace {

// "HH:MM", 00:00 to 23:59.
bool IsClockTime(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return (s[0] - '0') * 10 + (s[1] - '0') < 24 && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

// "YYYY-MM-DD", a day that exists.
bool IsCalendarDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int y = 0;
  int m = 0;
  int d = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (i == 4 || i == 7) continue;
    if (s[i] < '0' || s[i] > '9') return false;
    int& part = i < 4 ? y : i < 7 ? m : d;
    part = part * 10 + (s[i] - '0');
  }
  return date::year_month_day(date::year(y), date::month(static_cast<unsigned>(m)), date::day(static_cast<unsigned>(d)))
      .ok();
}

bool IsKnownTimeZone(const std::string& tz) {
  if (tz == "UTC") return true;
  try {
    return date::locate_zone(tz) != nullptr;
  } catch (const std::exception&) {  // date reports an unknown zone by exception
    return false;
  }
}

void ReadCommunity(TableReader& r, Playbook& book) {
  if (r.String("slug", book.community) && !IsSlug(book.community, kMaxSlugBytes)) {
    r.Invalid("slug", fmt::format("\"{}\" is not a slug: use 1 to {} of a-z 0-9 _ -",
                                  Excerpt(book.community, 40), kMaxSlugBytes));
    book.community.clear();
  }
  r.Require("slug", "the community's slug, e.g. \"camp\"");
  r.String("name", book.name);
  if (book.name.empty()) book.name = book.community;
  std::string tz;
  if (r.String("time_zone", tz)) {
    if (!IsTimeZoneName(tz)) {
      r.Invalid("time_zone",
                fmt::format("\"{}\" is not an IANA time zone name like \"Asia/Shanghai\" or \"UTC\"",
                            Excerpt(tz, 40)));
    } else if (!IsKnownTimeZone(tz)) {
      r.Invalid("time_zone", fmt::format("unknown time zone \"{}\" (not in the system's tz "
                                         "database; e.g. \"Asia/Shanghai\")",
                                         Excerpt(tz, 40)));
    } else {
      book.time_zone = tz;
    }
  }
  std::string language;
  if (r.String("language", language)) {
    if (language == "zh") {
      book.language = Language::kZh;
    } else if (language == "en") {
      book.language = Language::kEn;
    } else {
      r.Invalid("language",
                fmt::format("\"{}\" is not a language: use zh or en", Excerpt(language, 40)));
    }
  }
  book.rules = ReadText(r, "rules", TextKind::kPlain);
  std::string quiet;
  if (r.String("quiet_hours", quiet)) {
    const size_t dash = quiet.find('-');
    const std::string start = quiet.substr(0, dash == std::string::npos ? 0 : dash);
    const std::string end = dash == std::string::npos ? "" : quiet.substr(dash + 1);
    if (!IsClockTime(start) || !IsClockTime(end) || start == end) {
      r.Invalid("quiet_hours", fmt::format("\"{}\" is not a local time range like \"22:30-07:00\"", Excerpt(quiet, 40)));
    } else {
      book.quiet_start = start;
      book.quiet_end = end;
    }
  }
  if (r.StringList("holidays", book.holidays)) {
    for (const std::string& day : book.holidays) {
      if (!IsCalendarDate(day)) {
        r.Invalid("holidays", fmt::format("\"{}\" is not a date like \"2026-10-01\"", Excerpt(day, 40)));
        break;
      }
    }
    std::sort(book.holidays.begin(), book.holidays.end());
  }
  r.Done();
}

void ReadGroups(const toml::array& groups, ConfigProblems& problems, Playbook& book) {
  // (platform, id) → index and line of the first group that named it.
  std::map<std::pair<std::string, std::string>, std::pair<size_t, uint32_t>> seen;
  for (size_t i = 0; i < groups.size(); ++i) {
    const toml::node& node = *groups.get(i);
    const std::string path = IndexPath("groups", i);
    const toml::table* t = ExpectTable(node, path, "a table ([[groups]])", problems);
    if (t == nullptr) continue;
    TableReader r(*t, path, problems);
    GroupSettings group;
    bool identified = r.String("platform", group.platform);
    if (identified && !IsSlug(group.platform, kMaxPlatformBytes)) {
      identified = false;
      r.Invalid("platform", fmt::format("\"{}\" is not a platform name: use 1 to {} of a-z 0-9 _ -",
                                        Excerpt(group.platform, 40), kMaxPlatformBytes));
    }
    r.Require("platform", "e.g. \"sandbox\", \"wecom\"");
    if (r.String("id", group.id)) {
      if (group.id.empty() || group.id.size() > kMaxGroupIdBytes) {
        identified = false;
        r.Invalid("id", fmt::format("must be 1 to {} bytes (the platform's group id)",
                                    kMaxGroupIdBytes));
      }
    } else {
      identified = false;
    }
    r.Require("id", "the platform's group id");
    r.String("name", group.name);
    std::string type;
    if (r.String("type", type)) {
      if (auto parsed = ParseGroupType(type)) {
        group.type = *parsed;
      } else {
        r.Invalid("type", fmt::format("\"{}\" is not a group type: use unspecified, interest, "
                                      "core_user, learning, conversion or industry",
                                      Excerpt(type, 40)));
      }
    }
    if (!r.Int("capacity", group.capacity, static_cast<int>(kMinCapacity), static_cast<int>(kMaxCapacity)) &&
        group.type == GroupType::kCoreUser) {
      group.capacity = kDefaultCoreUserCapacity;
    }
    group.rules = ReadText(r, "rules", TextKind::kPlain);
    if (r.String("invite", group.invite) && !IsHttpUrl(group.invite, kMaxInviteBytes)) {
      // The value is not echoed: it may hold the line breaks that made it invalid.
      r.Invalid("invite", fmt::format("is not an http(s) URL of at most {} bytes without spaces or control "
                                      "characters (e.g. \"https://t.me/+AbCd\")",
                                      kMaxInviteBytes));
    }
    if (r.String("start", group.start) && !IsCalendarDate(group.start)) {
      r.Invalid("start", fmt::format("\"{}\" is not a date like \"2026-03-08\"", Excerpt(group.start, 40)));
      group.start.clear();
    }
    r.Done();
    if (identified) {
      auto [it, inserted] = seen.try_emplace({group.platform, group.id}, i, t->source().begin.line);
      if (!inserted) {
        r.Invalid("id", fmt::format("duplicate group {}:{} (first declared as groups[{}], line {})",
                                    group.platform, Excerpt(group.id, 40), it->second.first,
                                    it->second.second));
      }
    }
    book.groups.push_back(std::move(group));
  }
}

bool CheckRef(TableReader& r, std::string_view key, std::string_view ref) {
  if (ParseGroupRef(ref)) return true;
  r.Invalid(key, fmt::format("\"{}\" is not \"platform:id\" (e.g. \"sandbox:camp-1\")", Excerpt(ref, 40)));
  return false;
}

}  // namespace

bool ReadGroupTargets(TableReader& r, const Playbook& common, std::vector<std::string>& out) {
  const int given = (r.Has("group") ? 1 : 0) + (r.Has("groups") ? 1 : 0) + (r.Has("group_type") ? 1 : 0);
  if (given == 0) {
    r.Require("group", "\"platform:id\" (or `groups`, or `group_type`)");
    return true;
  }
  if (given > 1) {
    r.Invalid(r.Has("groups") ? "groups" : "group_type", "give one of group, groups and group_type");
    return true;
  }
  auto listed = [&](auto&& keep) {
    for (const GroupSettings& g : common.groups) {
      if (keep(g)) out.push_back(g.platform + ":" + g.id);
    }
  };
  std::string one;
  if (r.String("group", one)) {
    if (CheckRef(r, "group", one)) out.push_back(std::move(one));
    return true;
  }
  if (const toml::node* node = r.Node("groups"); node != nullptr && node->is_string()) {
    if (node->value<std::string>() != "all") {
      r.Invalid("groups", "a list of \"platform:id\" or \"all\" (every [[groups]] entry)");
      return false;
    }
    listed([](const GroupSettings&) { return true; });
    if (out.empty()) r.Invalid("groups", "\"all\" but the playbook lists no [[groups]]");
    return false;
  }
  std::string type_name;
  if (r.String("group_type", type_name)) {
    const auto type = ParseGroupType(type_name);
    if (!type) {
      r.Invalid("group_type", fmt::format("\"{}\" is not a group type", Excerpt(type_name, 40)));
      return false;
    }
    listed([&](const GroupSettings& g) { return g.type == *type; });
    if (out.empty()) r.Invalid("group_type", fmt::format("no [[groups]] entry has type \"{}\"", type_name));
    return false;
  }
  (void)ReadGroupRefs(r, "groups", out);
  return false;
}

void CheckUniqueName(TableReader& r, std::string_view name, size_t index, std::string_view section,
                     std::string_view what, EntryNames& seen) {
  const toml::node* at = r.table().get("name");
  if (at == nullptr) return;
  if (auto [it, inserted] = seen.try_emplace(std::string(name), index, at->source().begin.line); !inserted) {
    r.Invalid("name", fmt::format("duplicate {} name \"{}\" (first used by {}[{}], line {})", what, name, section,
                                  it->second.first, it->second.second));
  }
}

void ReadTables(const toml::array& array, std::string_view path, std::string_view form, size_t max,
                ConfigProblems& problems, const std::function<void(TableReader&, size_t)>& read) {
  if (array.size() > max) {
    problems.Report(array, std::string(path), fmt::format("at most {} entries ({})", max, form));
  }
  for (size_t i = 0; i < array.size() && i < max; ++i) {
    const std::string entry_path = IndexPath(path, i);
    const toml::table* t = ExpectTable(*array.get(i), entry_path, fmt::format("a table ({})", form), problems);
    if (t == nullptr) continue;
    TableReader r(*t, entry_path, problems);
    read(r, i);
  }
}

void ReadTables(const toml::node& node, std::string_view path, std::string_view form, size_t max,
                ConfigProblems& problems, const std::function<void(TableReader&, size_t)>& read) {
  const toml::array* array = ExpectArray(node, path, fmt::format("an array of tables ({})", form), problems);
  if (array != nullptr) ReadTables(*array, path, form, max, problems, read);
}

bool ReadGroupRefs(TableReader& r, std::string_view key, std::vector<std::string>& out) {
  std::vector<std::string> refs;
  if (!r.StringList(key, refs)) return false;
  if (refs.empty()) r.Invalid(key, "must not be empty");
  std::set<std::string, std::less<>> seen;
  for (std::string& ref : refs) {
    if (!CheckRef(r, key, ref)) return false;
    if (!seen.insert(ref).second) {
      r.Invalid(key, fmt::format("\"{}\" is listed twice", Excerpt(ref, 40)));
      return false;
    }
    out.push_back(std::move(ref));
  }
  return true;
}

bool ReadDuration(TableReader& reader, std::string_view key, int64_t& seconds, bool off_allowed) {
  std::string text;
  if (!reader.String(key, text)) return false;
  if (off_allowed && (text == "off" || text == "0" || text == "0s")) {
    seconds = 0;
    return true;
  }
  auto d = ParseDurationSeconds(text);
  if (!d.ok()) {
    reader.Invalid(key, d.status().message());
    return false;
  }
  seconds = *d;
  return true;
}

LocalizedText ReadText(TableReader& reader, std::string_view key, TextKind kind) {
  LocalizedText text;
  const toml::node* node = reader.Node(key);
  if (node == nullptr) return text;
  const std::string field = reader.PathOf(key);
  auto check = [&](const toml::value<std::string>& value, std::string path) {
    if (auto problem = CheckTemplate(value.get(), kind)) {
      reader.problems().Report(value, std::move(path), std::move(*problem));
    }
  };
  if (const auto* s = node->as_string()) {
    text.zh = s->get();
    check(*s, field);
  } else if (const toml::table* table = node->as_table()) {
    TableReader t(*table, field, reader.problems());
    t.String("zh", text.zh);
    t.String("en", text.en);
    t.Done();
    if (const auto* zh = table->get_as<std::string>("zh")) check(*zh, JoinPath(field, "zh"));
    if (const auto* en = table->get_as<std::string>("en")) check(*en, JoinPath(field, "en"));
  } else {
    reader.problems().Report(*node, field,
                             fmt::format("expected a string or a table {{ zh = \"…\", en = \"…\" "
                                         "}}, got {}",
                                         TomlTypeName(node->type())));
  }
  return text;
}

Status PlaybookSchema::Add(PlaybookSection section) {
  if (section.key == "community" || section.key == "groups") {
    return Status(Code::kAlreadyExists,
                  fmt::format("playbook section '{}' is a common section", section.key));
  }
  for (const PlaybookSection& s : sections_) {
    if (s.key == section.key) {
      return Status(Code::kAlreadyExists,
                    fmt::format("playbook section '{}' is registered twice", section.key));
    }
  }
  sections_.push_back(std::move(section));
  return Status::Ok();
}

Result<Playbook> ParsePlaybook(std::string_view text, std::string_view source,
                               const PlaybookSchema& schema) {
  auto root = ParseToml(text, source, kMaxPlaybookBytes);
  if (!root.ok()) return root.status();
  ConfigProblems problems{std::string(source)};
  Playbook book;
  TableReader r(*root, "", problems);
  // The common sections first: module sections may refer to them.
  if (const toml::table* community = r.Table("community")) {
    TableReader c(*community, "community", problems);
    ReadCommunity(c, book);
  } else if (!root->contains("community")) {
    problems.Report(0, "community", "required section [community] is missing");
  }
  if (const toml::node* groups = r.Node("groups")) {
    if (const auto* array = ExpectArray(*groups, "groups", "an array of tables ([[groups]])", problems)) {
      ReadGroups(*array, problems, book);
    }
  }
  for (const PlaybookSection& section : schema.sections()) {
    const toml::node* node = r.Node(section.key);
    try {
      auto config = section.parse(node, book, problems);
      if (config != nullptr) book.sections.emplace(section.key, std::move(config));
    } catch (const std::exception& e) {  // a section parser must not take the caller down
      problems.Report(node ? node->source().begin.line : 0, section.key,
                      fmt::format("the section could not be read: {}", e.what()));
    }
  }
  r.Done();
  if (!problems.empty()) return problems.ToStatus();
  book.IndexGroups();
  return book;
}

std::optional<GroupRef> ParseGroupRef(std::string_view ref) {
  const size_t colon = ref.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  GroupRef out{ref.substr(0, colon), ref.substr(colon + 1)};
  if (!IsSlug(out.platform, kMaxPlatformBytes)) return std::nullopt;
  if (out.id.empty() || out.id.size() > kMaxGroupIdBytes) return std::nullopt;
  return out;
}

const std::string& Pick(const LocalizedText& text, Language language) {
  if (language == Language::kEn) return text.en.empty() ? text.zh : text.en;
  return text.zh.empty() ? text.en : text.zh;
}

std::string Render(const LocalizedText& text, Language language, const TemplateVars& vars) {
  const std::string_view in = Pick(text, language);
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const size_t brace = in.find_first_of("{}", i);
    if (brace == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, brace - i));
    i = brace;
    const bool doubled = i + 1 < in.size() && in[i + 1] == in[i];
    if (doubled) {  // "{{" or "}}": one literal brace
      out += in[i];
      i += 2;
    } else if (in[i] == '}') {  // stray '}': kept (parsing rejects it)
      out += '}';
      ++i;
    } else {
      const size_t close = in.find('}', i + 1);
      if (close == std::string_view::npos) {  // unclosed '{': the rest as is
        out.append(in.substr(i));
        break;
      }
      if (const std::string* value = LookupVariable(in.substr(i + 1, close - i - 1), vars)) {
        out += *value;
      } else {  // unknown variable: left as is
        out.append(in.substr(i, close - i + 1));
      }
      i = close + 1;
    }
  }
  return out;
}

namespace {
uint64_t GroupHash(std::string_view platform, std::string_view id) {
  const uint64_t h = std::hash<std::string_view>{}(platform);
  return (h ^ (h >> 29)) * 0x9e3779b97f4a7c15ULL ^ std::hash<std::string_view>{}(id);
}
}  // namespace

void Playbook::IndexGroups() {
  group_index.clear();
  group_index.reserve(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    group_index.emplace_back(GroupHash(groups[i].platform, groups[i].id), static_cast<uint32_t>(i));
  }
  std::sort(group_index.begin(), group_index.end());
}

const GroupSettings* Playbook::FindGroup(std::string_view platform, std::string_view id) const {
  auto is = [&](const GroupSettings& g) { return g.platform == platform && g.id == id; };
  if (group_index.size() != groups.size()) {  // not indexed, or groups changed since: a scan
    for (const GroupSettings& group : groups) {
      if (is(group)) return &group;
    }
    return nullptr;
  }
  const uint64_t hash = GroupHash(platform, id);
  auto it = std::lower_bound(group_index.begin(), group_index.end(), std::pair<uint64_t, uint32_t>{hash, 0});
  for (; it != group_index.end() && it->first == hash; ++it) {
    if (it->second < groups.size() && is(groups[it->second])) return &groups[it->second];
  }
  return nullptr;
}

const LocalizedText& Playbook::RulesFor(std::string_view platform, std::string_view id) const {
  const GroupSettings* group = FindGroup(platform, id);
  return group != nullptr && !group->rules.empty() ? group->rules : rules;
}

const Playbook& PlaybookSet::For(std::string_view community) const {
  auto it = books_.find(community);
  if (it != books_.end() && it->second != nullptr) return *it->second;
  static const Playbook kEmpty;  // no community, no groups, no module sections
  return kEmpty;
}

std::shared_ptr<const PlaybookSet> PlaybookSet::With(
    std::shared_ptr<const Playbook> playbook) const {
  auto books = books_;
  if (playbook != nullptr) books[playbook->community] = std::move(playbook);
  return std::make_shared<const PlaybookSet>(std::move(books));
}

}  // namespace qz
