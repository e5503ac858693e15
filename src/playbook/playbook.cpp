#include "playbook/playbook.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <new>
#include <optional>
#include <utility>

namespace qz {
namespace {

// Playbooks are small hand-written files; the cap keeps a bad upload from costing much.
constexpr size_t kMaxPlaybookBytes = size_t{1} << 20;
constexpr size_t kMaxSlugBytes = 64;
constexpr size_t kMaxPlatformBytes = 32;
constexpr size_t kMaxGroupIdBytes = 256;
constexpr size_t kMaxScheduleNameBytes = 64;
constexpr int64_t kMinCapacity = 1;
constexpr int64_t kMaxCapacity = 100000;
constexpr size_t kMaxReportedErrors = 20;

// Which template variables a text may use.
enum class TextKind {
  kPlain,     // not a template (rules): braces are literal
  kWelcome,   // every variable
  kSchedule,  // every variable but {member.name}: a scheduled post has no member
};

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

bool IsScheduleName(std::string_view s) {
  return !s.empty() && s.size() <= kMaxScheduleNameBytes &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; });
}

// "UTC" or Area/Location[/Sub] with a known IANA area. Only the shape: whether the name exists
// is up to the system's tz database when the engine loads the playbook. The character set also
// keeps "." out, so a name can never walk out of the zoneinfo directory.
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

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Superficial: the engine parses the full rule (engine/recurrence.hpp) when it loads the
// playbook; this only catches the obvious mistakes early, with a line number.
bool LooksLikeRule(std::string_view rule) {
  rule = TrimSpaces(rule);
  std::string first(rule.substr(0, rule.find_first_of(" \t")));
  std::transform(first.begin(), first.end(), first.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return first == "daily" || first == "weekly" || first == "cron" || first == "every";
}

// At most `max_bytes` of `s`, cut at a UTF-8 character boundary, with "…" when cut.
std::string Excerpt(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end)) + "…";
}

std::string JoinVariables(TextKind kind) {
  std::string out;
  for (std::string_view name : kTemplateVariables) {
    if (kind == TextKind::kSchedule && name == "member.name") continue;
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
      if (known && kind == TextKind::kSchedule && name == "member.name") {
        return fmt::format(
            "{{member.name}} cannot be used in a schedule, which has no member "
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

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

// A key as it appears in a path: bare keys as is, others quoted (TOML allows any string).
std::string PathKey(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return IsAlnum(c) || c == '_' || c == '-';
  });
  // fmt rather than "\"" + string: GCC 12 at -O3 warns falsely on the latter (-Wrestrict).
  return bare ? std::string(key) : fmt::format("\"{}\"", Excerpt(key, 40));
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? PathKey(key) : fmt::format("{}.{}", path, PathKey(key));
}

std::string Index(std::string_view path, size_t i) { return fmt::format("{}[{}]", path, i); }

struct Problem {
  uint32_t line = 0;  // 0 when unknown
  std::string path;
  std::string what;
};

// One parse: walks the TOML tree, fills a Playbook, and records every problem with its line.
class PlaybookParser {
 public:
  explicit PlaybookParser(std::string_view source) : source_(source) {}

  Result<Playbook> Parse(const toml::table& root) {
    Playbook book;
    CheckKeys(root, "", {"community", "groups", "welcome", "schedules"});
    if (const toml::table* community = GetTable(root, "", "community")) {
      ParseCommunity(*community, book);
    } else if (!root.contains("community")) {
      Report(0, "community", "required section [community] is missing");
    }
    ParseGroups(root, book);
    if (const toml::table* welcome = GetTable(root, "", "welcome")) {
      ParseWelcome(*welcome, book.welcome);
    }
    ParseSchedules(root, book);
    if (problems_.empty()) return book;
    return ToStatus();
  }

 private:
  void Report(uint32_t line, std::string path, std::string what) {
    problems_.push_back({line, std::move(path), std::move(what)});
  }
  void Report(const toml::source_region& where, std::string path, std::string what) {
    Report(where.begin.line, std::move(path), std::move(what));
  }

  Status ToStatus() {
    // toml++ tables iterate in key order, not document order; sort so the first problem
    // reported is the first in the file (stable: problems on one line keep their order).
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    std::string message;
    const size_t shown = std::min(problems_.size(), kMaxReportedErrors);
    for (size_t i = 0; i < shown; ++i) {
      const Problem& p = problems_[i];
      if (!message.empty()) message += '\n';
      if (p.line > 0) {
        message += fmt::format("{}:{}: {}: {}", source_, p.line, p.path, p.what);
      } else {
        message += fmt::format("{}: {}: {}", source_, p.path, p.what);
      }
    }
    if (problems_.size() > shown) {
      message += fmt::format("\n{}: … and {} more", source_, problems_.size() - shown);
    }
    return Status::Invalid(std::move(message), problems_.front().path);
  }

  // Reports every key of `table` that is not in `allowed`.
  void CheckKeys(const toml::table& table, std::string_view path,
                 std::initializer_list<std::string_view> allowed) {
    for (auto&& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string expected;
      for (std::string_view a : allowed) {
        if (!expected.empty()) expected += ", ";
        expected += a;
      }
      Report(key.source(), Join(path, key.str()),
             fmt::format("unknown key (expected one of: {})", expected));
    }
  }

  void WrongType(const toml::node& node, std::string path, std::string_view expected) {
    Report(node.source(), std::move(path),
           fmt::format("expected {}, got {}", expected, TypeName(node.type())));
  }

  // The typed value at `key`: null (nullopt) when absent; reported when of another type.
  const toml::table* GetTable(const toml::table& t, std::string_view path, std::string_view key) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return nullptr;
    if (const toml::table* table = node->as_table()) return table;
    WrongType(*node, Join(path, key), "a table");
    return nullptr;
  }
  const toml::value<std::string>* GetString(const toml::table& t, std::string_view path,
                                            std::string_view key) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return nullptr;
    if (const auto* s = node->as_string()) return s;
    WrongType(*node, Join(path, key), "a string");
    return nullptr;
  }
  const toml::value<int64_t>* GetInteger(const toml::table& t, std::string_view path,
                                         std::string_view key) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return nullptr;
    if (const auto* i = node->as_integer()) return i;
    WrongType(*node, Join(path, key), "an integer");
    return nullptr;
  }
  const toml::value<bool>* GetBool(const toml::table& t, std::string_view path,
                                   std::string_view key) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return nullptr;
    if (const auto* b = node->as_boolean()) return b;
    WrongType(*node, Join(path, key), "a boolean (true or false)");
    return nullptr;
  }
  // An array of tables ([[key]]); null when absent or reported.
  const toml::array* GetTableArray(const toml::table& t, std::string_view key) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return nullptr;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      WrongType(*node, std::string(key), fmt::format("an array of tables ([[{}]])", key));
      return nullptr;
    }
    return array;
  }

  // A TEXT field: a string (zh) or a table { zh, en }. Each string is checked as a template
  // of `kind`. Absent: empty text.
  LocalizedText GetText(const toml::table& t, std::string_view path, std::string_view key,
                        TextKind kind) {
    LocalizedText text;
    const toml::node* node = t.get(key);
    if (node == nullptr) return text;
    const std::string field = Join(path, key);
    if (const auto* s = node->as_string()) {
      text.zh = s->get();
      CheckText(*s, field, kind);
    } else if (const toml::table* table = node->as_table()) {
      CheckKeys(*table, field, {"zh", "en"});
      if (const auto* zh = GetString(*table, field, "zh")) {
        text.zh = zh->get();
        CheckText(*zh, Join(field, "zh"), kind);
      }
      if (const auto* en = GetString(*table, field, "en")) {
        text.en = en->get();
        CheckText(*en, Join(field, "en"), kind);
      }
    } else {
      WrongType(*node, field, "a string or a table { zh = \"…\", en = \"…\" }");
    }
    return text;
  }

  void CheckText(const toml::value<std::string>& value, std::string field, TextKind kind) {
    if (auto problem = CheckTemplate(value.get(), kind)) {
      Report(value.source(), std::move(field), std::move(*problem));
    }
  }

  void ParseCommunity(const toml::table& t, Playbook& book) {
    constexpr std::string_view kPath = "community";
    CheckKeys(t, kPath, {"slug", "name", "time_zone", "language", "rules"});
    if (const auto* slug = GetString(t, kPath, "slug")) {
      if (IsSlug(slug->get(), kMaxSlugBytes)) {
        book.community = slug->get();
      } else {
        Report(slug->source(), "community.slug",
               fmt::format("\"{}\" is not a slug: use 1 to {} of a-z 0-9 _ -",
                           Excerpt(slug->get(), 40), kMaxSlugBytes));
      }
    } else if (!t.contains("slug")) {
      Report(t.source(), "community.slug", "required (the community's slug, e.g. \"camp\")");
    }
    if (const auto* name = GetString(t, kPath, "name")) book.name = name->get();
    if (book.name.empty()) book.name = book.community;
    if (const auto* tz = GetString(t, kPath, "time_zone")) {
      if (IsTimeZoneName(tz->get())) {
        book.time_zone = tz->get();
      } else {
        Report(tz->source(), "community.time_zone",
               fmt::format("\"{}\" is not an IANA time zone name like \"Asia/Shanghai\" or "
                           "\"UTC\"",
                           Excerpt(tz->get(), 40)));
      }
    }
    if (const auto* language = GetString(t, kPath, "language")) {
      if (language->get() == "zh") {
        book.language = Language::kZh;
      } else if (language->get() == "en") {
        book.language = Language::kEn;
      } else {
        Report(language->source(), "community.language",
               fmt::format("\"{}\" is not a language: use zh or en", Excerpt(language->get(), 40)));
      }
    }
    book.rules = GetText(t, kPath, "rules", TextKind::kPlain);
  }

  void ParseGroups(const toml::table& root, Playbook& book) {
    const toml::array* groups = GetTableArray(root, "groups");
    if (groups == nullptr) return;
    // (platform, id) → index and line of the first group that named it.
    std::map<std::pair<std::string, std::string>, std::pair<size_t, uint32_t>> seen;
    for (size_t i = 0; i < groups->size(); ++i) {
      const toml::node& node = *groups->get(i);
      const std::string path = Index("groups", i);
      const toml::table* t = node.as_table();
      if (t == nullptr) {
        WrongType(node, path, "a table ([[groups]])");
        continue;
      }
      CheckKeys(*t, path, {"platform", "id", "name", "type", "capacity", "rules"});
      GroupSettings group;
      bool identified = true;
      if (const auto* platform = GetString(*t, path, "platform")) {
        group.platform = platform->get();
        if (!IsSlug(group.platform, kMaxPlatformBytes)) {
          identified = false;
          Report(platform->source(), Join(path, "platform"),
                 fmt::format("\"{}\" is not a platform name: use 1 to {} of a-z 0-9 _ -",
                             Excerpt(group.platform, 40), kMaxPlatformBytes));
        }
      } else {
        identified = false;
        if (!t->contains("platform")) {
          Report(t->source(), Join(path, "platform"), "required (e.g. \"sandbox\", \"wecom\")");
        }
      }
      const auto* id = GetString(*t, path, "id");
      if (id != nullptr) {
        group.id = id->get();
        if (group.id.empty() || group.id.size() > kMaxGroupIdBytes) {
          identified = false;
          Report(id->source(), Join(path, "id"),
                 fmt::format("must be 1 to {} bytes (the platform's group id)", kMaxGroupIdBytes));
        }
      } else {
        identified = false;
        if (!t->contains("id")) {
          Report(t->source(), Join(path, "id"), "required (the platform's group id)");
        }
      }
      if (const auto* name = GetString(*t, path, "name")) group.name = name->get();
      if (const auto* type = GetString(*t, path, "type")) {
        if (auto parsed = ParseGroupType(type->get())) {
          group.type = *parsed;
        } else {
          Report(type->source(), Join(path, "type"),
                 fmt::format("\"{}\" is not a group type: use unspecified, interest, core_user, "
                             "learning, conversion or industry",
                             Excerpt(type->get(), 40)));
        }
      }
      if (const auto* capacity = GetInteger(*t, path, "capacity")) {
        if (capacity->get() >= kMinCapacity && capacity->get() <= kMaxCapacity) {
          group.capacity = static_cast<int>(capacity->get());
        } else {
          Report(capacity->source(), Join(path, "capacity"),
                 fmt::format("{} is out of range {}..{}", capacity->get(), kMinCapacity,
                             kMaxCapacity));
        }
      }
      group.rules = GetText(*t, path, "rules", TextKind::kPlain);
      if (identified) {
        auto [it, inserted] =
            seen.try_emplace({group.platform, group.id}, i, t->source().begin.line);
        if (!inserted) {
          Report(id->source(), Join(path, "id"),
                 fmt::format("duplicate group {}:{} (first declared as groups[{}], line {})",
                             group.platform, Excerpt(group.id, 40), it->second.first,
                             it->second.second));
        }
      }
      book.groups.push_back(std::move(group));
    }
  }

  void ParseWelcome(const toml::table& t, WelcomeSettings& welcome) {
    constexpr std::string_view kPath = "welcome";
    CheckKeys(t, kPath, {"enabled", "text"});
    // The section's presence means "on" unless it says otherwise.
    welcome.enabled = true;
    if (const auto* enabled = GetBool(t, kPath, "enabled")) welcome.enabled = enabled->get();
    const size_t problems_before = problems_.size();
    welcome.text = GetText(t, kPath, "text", TextKind::kWelcome);
    // An empty text is worth a problem of its own only when the text was not already reported.
    if (welcome.enabled && welcome.text.empty() && problems_.size() == problems_before) {
      if (const toml::node* text = t.get("text")) {
        Report(text->source(), "welcome.text", "must not be empty when welcome is enabled");
      } else {
        Report(t.source(), "welcome.text", "required when welcome is enabled");
      }
    }
  }

  void ParseSchedules(const toml::table& root, Playbook& book) {
    const toml::array* schedules = GetTableArray(root, "schedules");
    if (schedules == nullptr) return;
    std::map<std::string, std::pair<size_t, uint32_t>, std::less<>> seen;  // name → index, line
    for (size_t i = 0; i < schedules->size(); ++i) {
      const toml::node& node = *schedules->get(i);
      const std::string path = Index("schedules", i);
      const toml::table* t = node.as_table();
      if (t == nullptr) {
        WrongType(node, path, "a table ([[schedules]])");
        continue;
      }
      CheckKeys(*t, path, {"name", "rule", "group", "text"});
      ScheduleSettings schedule;
      if (const auto* name = GetString(*t, path, "name")) {
        schedule.name = name->get();
        if (!IsScheduleName(schedule.name)) {
          Report(name->source(), Join(path, "name"),
                 fmt::format("\"{}\" is not a schedule name: use 1 to {} of A-Z a-z 0-9 _ . -",
                             Excerpt(schedule.name, 40), kMaxScheduleNameBytes));
        } else if (auto [it, inserted] =
                       seen.try_emplace(schedule.name, i, name->source().begin.line);
                   !inserted) {
          Report(name->source(), Join(path, "name"),
                 fmt::format("duplicate schedule name \"{}\" (first used by schedules[{}], "
                             "line {})",
                             schedule.name, it->second.first, it->second.second));
        }
      } else if (!t->contains("name")) {
        Report(t->source(), Join(path, "name"), "required (unique within the playbook)");
      }
      if (const auto* rule = GetString(*t, path, "rule")) {
        schedule.rule = rule->get();
        if (!LooksLikeRule(schedule.rule)) {
          Report(rule->source(), Join(path, "rule"),
                 fmt::format("\"{}\" is not a recurrence: start with daily, weekly, cron or every "
                             "(e.g. \"daily 06:20\", \"weekly mon,fri 20:00\")",
                             Excerpt(schedule.rule, 40)));
        }
      } else if (!t->contains("rule")) {
        Report(t->source(), Join(path, "rule"), "required (e.g. \"daily 06:20\")");
      }
      if (const auto* group = GetString(*t, path, "group")) {
        schedule.group = group->get();
        if (!ParseGroupRef(schedule.group)) {
          Report(group->source(), Join(path, "group"),
                 fmt::format("\"{}\" is not \"platform:id\" (e.g. \"sandbox:camp-1\")",
                             Excerpt(schedule.group, 40)));
        }
      } else if (!t->contains("group")) {
        Report(t->source(), Join(path, "group"), "required (\"platform:id\")");
      }
      const size_t problems_before = problems_.size();
      schedule.text = GetText(*t, path, "text", TextKind::kSchedule);
      if (schedule.text.empty() && problems_.size() == problems_before) {
        if (const toml::node* text = t->get("text")) {
          Report(text->source(), Join(path, "text"), "must not be empty");
        } else {
          Report(t->source(), Join(path, "text"), "required (the message to send)");
        }
      }
      book.schedules.push_back(std::move(schedule));
    }
  }

  std::string_view source_;
  std::vector<Problem> problems_;
};

}  // namespace

std::optional<GroupRef> ParseGroupRef(std::string_view ref) {
  const size_t colon = ref.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  GroupRef out{ref.substr(0, colon), ref.substr(colon + 1)};
  if (!IsSlug(out.platform, kMaxPlatformBytes)) return std::nullopt;
  if (out.id.empty() || out.id.size() > kMaxGroupIdBytes) return std::nullopt;
  return out;
}

Result<Playbook> ParsePlaybook(std::string_view toml, std::string_view source) {
  if (toml.size() > kMaxPlaybookBytes) {
    return Status::Invalid(
        fmt::format("{}: larger than {} bytes; a playbook is a small hand-written file", source,
                    kMaxPlaybookBytes));
  }
  // toml++ reports syntax errors (and allocation failures) by exception; none may leave here.
  try {
    toml::table root = toml::parse(toml, source);
    return PlaybookParser(source).Parse(root);
  } catch (const toml::parse_error& e) {
    return Status::Invalid(fmt::format("{}:{}:{}: TOML syntax error: {}", source,
                                       e.source().begin.line, e.source().begin.column,
                                       e.description()));
  } catch (const std::bad_alloc&) {
    return Status::Internal(fmt::format("{}: out of memory while parsing", source));
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("{}: {}", source, e.what()));
  }
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

const GroupSettings* Playbook::FindGroup(std::string_view platform, std::string_view id) const {
  for (const GroupSettings& group : groups) {
    if (group.platform == platform && group.id == id) return &group;
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
  static const Playbook kEmpty;  // no community, no groups, welcome and schedules disabled
  return kEmpty;
}

std::shared_ptr<const PlaybookSet> PlaybookSet::With(
    std::shared_ptr<const Playbook> playbook) const {
  auto books = books_;
  if (playbook != nullptr) books[playbook->community] = std::move(playbook);
  return std::make_shared<const PlaybookSet>(std::move(books));
}

}  // namespace qz
