// Conformance of the console's sorted lists: ReadModel::ListGroupsPage (every order, both
// directions, the community and text filters, the total) and ListMembers in another order than by id
// (with the community, group and text filters), page by page through their keyset cursors,
// against the same rows sorted here. Ties (equal sort values) are broken by id.
#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "store/conformance_data.hpp"
#include "store/store_conformance.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

constexpr GroupSort kGroupSorts[] = {
    GroupSort::kId,       GroupSort::kName,         GroupSort::kPlatform, GroupSort::kMemberCount,
    GroupSort::kMessages, GroupSort::kLastActivity, GroupSort::kFirstSeen};
constexpr MemberSort kMemberSorts[] = {MemberSort::kId,          MemberSort::kDisplayName,
                                       MemberSort::kFirstSeen,   MemberSort::kLastSeen,
                                       MemberSort::kLastMessage, MemberSort::kMessages};

bool Before(const SortKey& a, const SortKey& b, bool descending) {
  return descending ? std::tie(b.value, b.id) < std::tie(a.value, a.id)
                    : std::tie(a.value, a.id) < std::tie(b.value, b.id);
}

// Groups with few distinct values per column (many ties), in two communities.
void AddGroups(EventLog& log, int n) {
  std::mt19937 rng(11);
  auto pick = [&](int k) { return std::uniform_int_distribution<int>(0, k - 1)(rng); };
  auto txn = log.Begin();
  ASSERT_TRUE(txn.ok());
  const std::vector<std::string> names = {"成长营", "Camp", "camp", "早读", "", "成长营2"};
  for (GroupId id = 1; id <= n; ++id) {
    Group g = MakeGroup(id, 1 + id % 2);
    g.name = names[static_cast<size_t>(pick(6))];
    g.platform = pick(2) ? "qq" : "telegram";
    g.member_count = pick(5);
    g.messages = pick(4) * 100;
    g.last_activity = pick(3) == 0 ? 0 : kT0 + pick(5);
    g.first_seen = kT0 + pick(3);
    ASSERT_OK((*txn)->PutGroup(g));
  }
  ASSERT_OK((*txn)->Commit());
}

TEST_P(ReadModelConformance, GroupPagesInEveryOrder) {
  ASSERT_NO_FATAL_FAILURE(AddGroups(log(), 37));
  ASSERT_OK_AND_ASSIGN(const std::vector<Group> all, read_model().ListGroups(std::nullopt));
  for (const GroupSort sort : kGroupSorts) {
    for (const bool descending : {false, true}) {
      for (const auto& [community, q] : std::vector<std::pair<std::optional<CommunityId>, std::string>>{
               {std::nullopt, ""}, {2, ""}, {std::nullopt, "CAMP"}, {2, "成长"}, {std::nullopt, "g1"}}) {
        std::vector<GroupId> expected;
        std::vector<Group> rows;
        for (const Group& g : all) {
          if (community && g.community_id != *community) continue;
          // q: in the name or the platform id ("g<id>"), ASCII letters in any case.
          std::string name = g.name, id = g.external_id, part = q;
          for (std::string* s : {&name, &id, &part}) {
            for (char& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          if (!q.empty() && name.find(part) == std::string::npos && id.find(part) == std::string::npos) {
            continue;
          }
          rows.push_back(g);
        }
        EXPECT_FALSE(rows.empty()) << q;
        std::sort(rows.begin(), rows.end(), [&](const Group& a, const Group& b) {
          return Before(GroupSortKey(a, sort), GroupSortKey(b, sort), descending);
        });
        for (const Group& g : rows) expected.push_back(g.id);

        std::vector<GroupId> paged;
        std::optional<SortKey> after;
        for (int page = 0; page < 100; ++page) {
          ASSERT_OK_AND_ASSIGN(const GroupPage got,
                               read_model().ListGroupsPage({.community_id = community,
                                                            .q = q,
                                                            .sort = sort,
                                                            .descending = descending,
                                                            .limit = 5,
                                                            .after = after}));
          EXPECT_EQ(got.total, static_cast<int64_t>(rows.size()));
          for (const Group& g : got.groups) paged.push_back(g.id);
          if (got.groups.size() < 5) break;
          after = GroupSortKey(got.groups.back(), sort);
        }
        EXPECT_EQ(paged, expected)
            << "sort " << static_cast<int>(sort) << (descending ? " desc" : "") << " community "
            << community.value_or(0) << " q " << q;
        ASSERT_OK_AND_ASSIGN(const GroupPage whole,
                             read_model().ListGroupsPage({.community_id = community,
                                                          .q = q,
                                                          .sort = sort,
                                                          .descending = descending,
                                                          .limit = 1000}));
        ASSERT_EQ(whole.groups.size(), rows.size());
        EXPECT_EQ(whole.groups, rows) << "whole rows, in order";
      }
    }
  }
  ASSERT_OK_AND_ASSIGN(const GroupPage clamped, read_model().ListGroupsPage({.limit = 0}));
  EXPECT_EQ(clamped.groups.size(), 1u);
}

TEST_P(ReadModelConformance, MemberPagesInEveryOrderWithFilters) {
  std::mt19937 rng(5);
  auto pick = [&](int k) { return std::uniform_int_distribution<int>(0, k - 1)(rng); };
  const std::vector<std::string> names = {"小明", "Lily", "lily", "王芳-上海", "阿杰", "Coco"};
  std::vector<Member> members;
  {
    auto txn = log().Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_OK((*txn)->PutGroup(MakeGroup(10, 1)));
    for (MemberId id = 1; id <= 60; ++id) {
      Member m = MakeMember(id, 1 + id % 2, names[static_cast<size_t>(pick(6))]);
      m.first_seen = kT0 + pick(4);
      m.last_seen = kT0 + pick(6);
      m.last_message = pick(3) == 0 ? 0 : kT0 + pick(5);
      m.messages = pick(5);
      ASSERT_OK((*txn)->PutMember(m));
      ASSERT_OK((*txn)->PutIdentity(
          MakeIdentity(m.community_id, "qq", "u" + std::to_string(id * 7), id)));
      if (id % 3 != 0)
        ASSERT_OK((*txn)->PutMembership(MakeMembership(10, id, /*active=*/id % 4 != 1)));
      members.push_back(m);
    }
    ASSERT_OK((*txn)->Commit());
  }
  auto in_group = [](MemberId id) { return id % 3 != 0 && id % 4 != 1; };
  auto matches = [](const Member& m, const std::string& q) {
    if (q.empty()) return true;
    std::string name = m.display_name;
    std::string want = q;
    for (std::string* s : {&name, &want}) {
      for (char& c : *s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return name.find(want) != std::string::npos ||
           ("u" + std::to_string(m.id * 7)).find(want) != std::string::npos;
  };
  struct Filter {
    std::optional<CommunityId> community;
    std::optional<GroupId> group;
    std::string q;
  };
  const Filter filters[] = {{},
                            {.community = 1},
                            {.group = 10},
                            {.q = "LI"},
                            {.q = "u1"},
                            {.community = 2, .q = "王芳"},
                            {.group = 10, .q = "l"},
                            {.q = "没有"}};
  for (const Filter& f : filters) {
    for (const MemberSort sort : kMemberSorts) {
      for (const bool descending : {false, true}) {
        std::vector<Member> rows;
        for (const Member& m : members) {
          if (f.community && m.community_id != *f.community) continue;
          if (f.group && !in_group(m.id)) continue;
          if (!matches(m, f.q)) continue;
          rows.push_back(m);
        }
        std::sort(rows.begin(), rows.end(), [&](const Member& a, const Member& b) {
          return Before(MemberSortKey(a, sort), MemberSortKey(b, sort), descending);
        });
        std::vector<MemberId> expected;
        for (const Member& m : rows) expected.push_back(m.id);
        std::vector<MemberId> paged;
        std::optional<SortKey> after;
        MemberId after_id = kNoId;
        for (int page = 0; page < 100; ++page) {
          ASSERT_OK_AND_ASSIGN(const std::vector<Member> got,
                               read_model().ListMembers({.community_id = f.community,
                                                         .group_id = f.group,
                                                         .q = f.q,
                                                         .limit = 4,
                                                         .after_id = after_id,
                                                         .sort = sort,
                                                         .descending = descending,
                                                         .after = after}));
          for (const Member& m : got) paged.push_back(m.id);
          if (got.size() < 4) break;
          after = MemberSortKey(got.back(), sort);
          after_id = got.back().id;
        }
        EXPECT_EQ(paged, expected)
            << "sort " << static_cast<int>(sort) << (descending ? " desc" : "") << " q=" << f.q
            << " group=" << f.group.value_or(0) << " community=" << f.community.value_or(0);
      }
    }
  }
}

}  // namespace
}  // namespace qz
