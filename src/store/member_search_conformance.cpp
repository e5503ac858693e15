// Conformance of ReadModel::ListMembers' text search against its definition: a member matches
// `q` when `q` is a substring of its display name or of one of its identities' external ids,
// ASCII letters compared without case and every other character exactly (what LIKE '%q%'
// does). The reference is computed here from the store's own snapshot; the back end may use any
// index, and must answer the same members in the same order, page by page, also after names
// change and identities move.
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store/conformance_data.hpp"
#include "store/store_conformance.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

std::string Fold(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The characters (UTF-8 code points) of `s`.
std::vector<std::string> Chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string Substring(const std::vector<std::string>& chars, size_t from, size_t n) {
  std::string out;
  for (size_t i = from; i < from + n && i < chars.size(); ++i) out += chars[i];
  return out;
}

// Names that exercise the index: CJK of one to many characters, mixed-case ASCII, LIKE's
// wildcards and escape, digits, an emoji, and repeats.
const std::vector<std::string> kSurnames = {"王", "李", "张", "刘", "陈", "小", "阿", "欧阳"};
const std::vector<std::string> kGiven = {"明",   "小明", "伟",        "芳",       "娜娜",   "Lily",
                                         "LILY", "lIlY", "Anna_Bell", "50%off",   "a\\b",   "静",
                                         "秀英", "🙂", "Coco",      "xiaoMING", "明明明", ""};
const std::vector<std::string> kSuffixes = {"",     "-上海-销售", "-北京-学生", "2",
                                            "_ops", "-HR",        "Ⅱ"};

class MemberSearch {
 public:
  explicit MemberSearch(uint32_t seed) : rng_(seed) {}

  std::string Name() {
    std::string name = Pick(kSurnames) + Pick(kGiven) + Pick(kSuffixes);
    return name.empty() ? "无名" : name;
  }
  std::string ExternalId() {
    static const std::vector<std::string> kPrefixes = {"u", "U", "qq", "QQ", "wx_", "tg:"};
    return Pick(kPrefixes) + std::to_string(std::uniform_int_distribution<int>(1, 99999)(rng_));
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

 private:
  std::mt19937 rng_;
};

// The members matching `q` (and `community`) by the definition, in id order.
std::vector<MemberId> Expected(EventLog& log, const std::string& q,
                               std::optional<CommunityId> community) {
  auto snapshot = log.LoadState();
  EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  if (!snapshot.ok()) return {};
  const std::string folded = Fold(q);
  std::set<MemberId> hits;
  for (const Member& m : snapshot->members) {
    if (community && m.community_id != *community) continue;
    if (Fold(m.display_name).find(folded) != std::string::npos) hits.insert(m.id);
  }
  std::map<MemberId, CommunityId> community_of;
  for (const Member& m : snapshot->members) community_of[m.id] = m.community_id;
  for (const Identity& i : snapshot->identities) {
    if (community && community_of[i.member_id] != *community) continue;
    if (Fold(i.external_id).find(folded) != std::string::npos) hits.insert(i.member_id);
  }
  return {hits.begin(), hits.end()};
}

// What ListMembers answers, every page of `page` members followed by the cursor.
std::vector<MemberId> Listed(ReadModel& read_model, const std::string& q,
                             std::optional<CommunityId> community, int page) {
  std::vector<MemberId> out;
  MemberId after = kNoId;
  for (int n = 0; n < 10000; ++n) {
    auto members = read_model.ListMembers(
        {.community_id = community, .q = q, .limit = page, .after_id = after});
    EXPECT_TRUE(members.ok()) << members.status().ToString();
    if (!members.ok() || members->empty()) break;
    for (const Member& m : *members) out.push_back(m.id);
    after = members->back().id;
    if (static_cast<int>(members->size()) < page) break;
  }
  return out;
}

// Writes `n` members (ids from `first`) in communities 1 and 2 with one or two identities.
void AddMembers(EventLog& log, MemberSearch& gen, MemberId first, int n) {
  auto txn = log.Begin();
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  for (MemberId id = first; id < first + n; ++id) {
    const CommunityId community = 1 + id % 2;
    ASSERT_OK((*txn)->PutMember(MakeMember(id, community, gen.Name())));
    ASSERT_OK((*txn)->PutIdentity(MakeIdentity(community, "qq", gen.ExternalId(), id)));
    if (id % 3 == 0) {
      ASSERT_OK((*txn)->PutIdentity(MakeIdentity(community, "telegram", gen.ExternalId(), id)));
    }
  }
  ASSERT_OK((*txn)->Commit());
}

// Compares the back end with the definition for queries made from the stored texts: every
// 1-, 2- and 3-character piece and longer ones, case-changed variants, and misses.
void CompareAll(EventLog& log, ReadModel& read_model, MemberSearch& gen, int queries) {
  auto snapshot = log.LoadState();
  ASSERT_TRUE(snapshot.ok());
  std::vector<std::string> texts;
  for (const Member& m : snapshot->members) texts.push_back(m.display_name);
  for (const Identity& i : snapshot->identities) texts.push_back(i.external_id);
  std::vector<std::string> qs = {
      "%", "_", "\\", "a\\b", "50%", "明", "小明", "LILY", "lily", "Ⅱ", "🙂", "-上海-", "u1",
      "U1", "qq1", "QQ", "wx_", "tg:", "没有的", "zzzz", "明明明明", "小明-北京-学生-", "l", "L",
      // LIKE's wildcards are literal characters of the query.
      "小明%", "王_明", "%-上海-%", "Anna_B", "na_Be", "小芳_o", "%%", "_明_", "u1_"};
  for (int i = 0; i < queries; ++i) {
    const std::vector<std::string> chars = Chars(gen.Pick(texts));
    if (chars.empty()) continue;
    const size_t len = 1 + gen.Below(std::min<size_t>(chars.size(), 6));
    std::string q = Substring(chars, gen.Below(chars.size() - len + 1), len);
    if (i % 4 == 1) {
      for (char& c : q) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      }
    }
    if (i % 7 == 3) q += "龘";  // a miss whose other characters are common
    qs.push_back(q);
  }
  for (const std::string& q : qs) {
    for (const std::optional<CommunityId> community :
         {std::optional<CommunityId>(), std::optional<CommunityId>(2)}) {
      const std::vector<MemberId> expected = Expected(log, q, community);
      EXPECT_EQ(Listed(read_model, q, community, 1000), expected)
          << "q=\"" << q << "\" community=" << community.value_or(0);
      EXPECT_EQ(Listed(read_model, q, community, 7), expected) << "paged, q=\"" << q << "\"";
    }
  }
}

TEST_P(ReadModelConformance, MemberSearchMatchesTheDefinitionOnGeneratedNamesAndIds) {
  MemberSearch gen(20240601);
  ASSERT_NO_FATAL_FAILURE(AddMembers(log(), gen, 1, 400));
  ASSERT_NO_FATAL_FAILURE(CompareAll(log(), read_model(), gen, 300));
}

// The index follows the rows it describes: renamed members, identities given to another member,
// and a rolled-back transaction change what matches exactly as the texts do.
TEST_P(ReadModelConformance, MemberSearchFollowsRenamesMovedIdentitiesAndRollbacks) {
  MemberSearch gen(7);
  ASSERT_NO_FATAL_FAILURE(AddMembers(log(), gen, 1, 120));
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (MemberId id = 1; id <= 120; id += 5) {
      ASSERT_OK(txn->PutMember(MakeMember(id, 1 + id % 2, gen.Name())));  // renamed
    }
    ASSERT_OK(txn->PutMember(MakeMember(2, 1, "改名后的小明")));
    ASSERT_OK(txn->PutMember(MakeMember(2, 1, "又改名 Lily")));  // twice in one transaction
    ASSERT_OK(txn->PutMember(MakeMember(4, 1, "ABCabc")));
    ASSERT_OK(txn->PutMember(MakeMember(4, 1, "ABCabc")));  // the same name again
    // An identity that moves to another member, and one whose text is also in its name.
    ASSERT_OK(txn->PutIdentity(MakeIdentity(2, "qq", "Lily-9", 3)));
    ASSERT_OK(txn->PutIdentity(MakeIdentity(2, "qq", "Lily-9", 5)));
    ASSERT_OK(txn->PutMember(MakeMember(7, 2, "Lily-9")));
    ASSERT_OK(txn->PutIdentity(MakeIdentity(2, "qq", "Lily-9x", 7)));
    ASSERT_OK(txn->Commit());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutMember(MakeMember(9, 2, "回滚的名字")));
    ASSERT_OK(txn->PutIdentity(MakeIdentity(2, "qq", "rolled-back", 11)));
    // Destroyed without Commit: rolled back, index included.
  }
  EXPECT_EQ(Listed(read_model(), "回滚", std::nullopt, 50), std::vector<MemberId>{});
  EXPECT_EQ(Listed(read_model(), "rolled", std::nullopt, 50), std::vector<MemberId>{});
  EXPECT_EQ(Listed(read_model(), "又改名", std::nullopt, 50), std::vector<MemberId>{2});
  EXPECT_EQ(Listed(read_model(), "改名后", std::nullopt, 50), std::vector<MemberId>{})
      << "the old name is gone";
  EXPECT_EQ(Listed(read_model(), "abcA", std::nullopt, 50), std::vector<MemberId>{4});
  const std::vector<MemberId> lily9 = Listed(read_model(), "lily-9", std::nullopt, 50);
  EXPECT_EQ(lily9, Expected(log(), "lily-9", std::nullopt));
  EXPECT_NE(std::find(lily9.begin(), lily9.end(), MemberId{5}), lily9.end()) << "moved to 5";
  EXPECT_EQ(std::find(lily9.begin(), lily9.end(), MemberId{3}), lily9.end()) << "moved from 3";
  ASSERT_NO_FATAL_FAILURE(CompareAll(log(), read_model(), gen, 150));
  Reopen();
  EXPECT_EQ(Listed(read_model(), "又改名", std::nullopt, 50), std::vector<MemberId>{2});
}

}  // namespace
}  // namespace qz
