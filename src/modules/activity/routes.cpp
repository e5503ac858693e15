#include "modules/activity/routes.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string>
#include <vector>

#include "modules/activity/activity.hpp"
#include "server/module_api.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr int64_t kMaxDays = 366;
constexpr size_t kMaxGroups = 200;

// The last `n` days up to today in the community's time zone, oldest first.
struct Window {
  std::vector<int64_t> days;  // yyyymmdd
  ApiJson labels = ApiJson::array();
};
Window LastDays(const Call& c, const Community& community, int64_t n) {
  Window w;
  const int64_t today = DaysSinceEpoch(LocalDay(c.clock().Now(), community.time_zone));
  for (int64_t i = n - 1; i >= 0; --i) {
    const int64_t day = DayNumber(today - i);
    w.days.push_back(day);
    w.labels.push_back(fmt::format("{:04}-{:02}-{:02}", day / 10000, day / 100 % 100, day % 100));
  }
  return w;
}

Result<int64_t> DaysParam(const Call& c, int64_t fallback) {
  QZ_ASSIGN_OR_RETURN(const int64_t days, c.query().NonNegative("days"));
  if (days == 0 && c.query().Get("days") == nullptr) return fallback;
  if (days < 1 || days > kMaxDays) return Status::Invalid(fmt::format("must be 1..{}", kMaxDays), "days");
  return days;
}

struct Series {
  std::vector<int64_t> joins, leaves, messages;
};

// A group's counts on the window's days (its rows are keyed [group, yyyymmdd]: one range read).
Result<Series> GroupSeries(const Call& c, CommunityId community, GroupId group, const Window& w) {
  const size_t n = w.days.size();
  Series s{std::vector<int64_t>(n), std::vector<int64_t>(n), std::vector<int64_t>(n)};
  // Keys compare as bytes: "[5," sorts before any "[5x" with a digit x, and the days of one
  // group (8 digits each) in date order.
  const std::string after = fmt::format("[{},{}]", group, w.days.front() - 1);
  QZ_ASSIGN_OR_RETURN(const std::vector<ModuleStateEntry> rows,
                      c.store().ListModuleState(community, kActivityDaysTable, after,
                                                static_cast<int>(n)));
  for (const ModuleStateEntry& entry : rows) {
    const std::optional<ActivityDayRow> row = DecodeRow<ActivityDayRow>(entry.key, entry.value);
    if (!row || row->group != group) break;
    const auto at = std::lower_bound(w.days.begin(), w.days.end(), row->day);
    if (at == w.days.end() || *at != row->day) continue;  // a day after today (a skewed clock)
    const auto i = static_cast<size_t>(at - w.days.begin());
    s.joins[i] = row->joins;
    s.leaves[i] = row->leaves;
    s.messages[i] = row->messages;
  }
  return s;
}

// GET /api/v1/activity/daily
Status GetDaily(Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  QZ_ASSIGN_OR_RETURN(const int64_t n, DaysParam(c, 30));
  const Window w = LastDays(c, community, n);
  QZ_ASSIGN_OR_RETURN(const std::vector<Group> groups, c.store().ListGroups(community.id));
  Series total{std::vector<int64_t>(w.days.size()), std::vector<int64_t>(w.days.size()),
               std::vector<int64_t>(w.days.size())};
  for (const Group& g : groups) {
    QZ_ASSIGN_OR_RETURN(const Series s, GroupSeries(c, community.id, g.id, w));
    for (size_t i = 0; i < w.days.size(); ++i) {
      total.joins[i] += s.joins[i];
      total.leaves[i] += s.leaves[i];
      total.messages[i] += s.messages[i];
    }
  }
  ApiJson days = ApiJson::array();
  for (size_t i = 0; i < w.days.size(); ++i) {
    days.push_back({{"day", w.labels[i]},
                    {"joins", total.joins[i]},
                    {"leaves", total.leaves[i]},
                    {"messages", total.messages[i]}});
  }
  c.RespondJson({{"time_zone", community.time_zone}, {"days", std::move(days)}});
  return Status::Ok();
}

Result<std::vector<GroupId>> GroupIds(const Call& c) {
  std::vector<GroupId> ids;
  const std::string* list = c.query().Get("groups");
  if (list == nullptr || list->empty()) return Status::Invalid("required: group ids, comma-separated", "groups");
  std::string_view rest = *list;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    GroupId id = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec != std::errc() || end != item.data() + item.size() || id <= 0) {
      return Status::Invalid(fmt::format("'{}' is not a group id", item), "groups");
    }
    ids.push_back(id);
    if (ids.size() > kMaxGroups) return Status::Invalid(fmt::format("at most {} groups", kMaxGroups), "groups");
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return ids;
}

// GET /api/v1/activity/groups
Status GetGroups(Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  QZ_ASSIGN_OR_RETURN(const int64_t n, DaysParam(c, 14));
  QZ_ASSIGN_OR_RETURN(const std::vector<GroupId> ids, GroupIds(c));
  const Window w = LastDays(c, community, n);
  ApiJson out = ApiJson::array();
  for (const GroupId id : ids) {
    QZ_ASSIGN_OR_RETURN(const Series s, GroupSeries(c, community.id, id, w));
    out.push_back({{"group", id}, {"joins", s.joins}, {"leaves", s.leaves}, {"messages", s.messages}});
  }
  c.RespondJson({{"days", w.labels}, {"groups", std::move(out)}});
  return Status::Ok();
}

}  // namespace

Status AddActivityRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/activity/daily", GetDaily, RunOn::kBlockingPool}));
  return table.Add({"GET", "/api/v1/activity/groups", GetGroups, RunOn::kBlockingPool});
}

}  // namespace qz
