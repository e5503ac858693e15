// Conformance of AdminStore (tokens, playbooks), and StoreTxn::PutPlaybook.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "store/conformance_data.hpp"
#include "store/store_conformance.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

TEST_P(AdminConformance, Tokens) {
  ASSERT_OK_AND_ASSIGN(bool before, admin().HasToken("aa11"));
  EXPECT_FALSE(before);
  ASSERT_OK(admin().PutToken({.hash = "aa11", .name = "ci", .created_at = kT0}));
  ASSERT_OK(admin().PutToken({.hash = "bb22", .name = "ops", .created_at = kT0 + 1}));
  ASSERT_OK(admin().PutToken({.hash = "aa11", .name = "ci renamed", .created_at = kT0 + 2}));
  ASSERT_OK_AND_ASSIGN(bool a, admin().HasToken("aa11"));
  EXPECT_TRUE(a);
  ASSERT_OK_AND_ASSIGN(bool b, admin().HasToken("bb22"));
  EXPECT_TRUE(b);
  ASSERT_OK_AND_ASSIGN(bool c, admin().HasToken("AA11"));
  EXPECT_FALSE(c) << "hashes compare exactly";
  ASSERT_OK_AND_ASSIGN(bool d, admin().HasToken(""));
  EXPECT_FALSE(d);
}

TEST_P(AdminConformance, PlaybooksPutReplaceAndLoad) {
  const StoredPlaybook b{.community = "b", .toml = "[welcome]\ntext = \"hi\"\n", .updated_at = 1};
  const StoredPlaybook a{.community = "a", .toml = "# 欢迎 🎉\n", .updated_at = 2};
  const StoredPlaybook upper{.community = "Z", .toml = "", .updated_at = 3};
  ASSERT_OK(admin().PutPlaybook(b));
  ASSERT_OK(admin().PutPlaybook(a));
  ASSERT_OK(admin().PutPlaybook(upper));
  ASSERT_OK_AND_ASSIGN(auto loaded, admin().LoadPlaybooks());
  EXPECT_SAME(loaded, (std::vector<StoredPlaybook>{upper, a, b})) << "ordered by slug, bytewise";
  const StoredPlaybook b2{.community = "b", .toml = std::string(100'000, '#'), .updated_at = 9};
  ASSERT_OK(admin().PutPlaybook(b2));
  Reopen();
  ASSERT_OK_AND_ASSIGN(loaded, admin().LoadPlaybooks());
  EXPECT_SAME(loaded, (std::vector<StoredPlaybook>{upper, a, b2}));
}

// Everything a StoreTxn writes is rolled back together, and is invisible while it is open.


TEST_P(AdminConformance, FreshStoreHasNoPlaybooksOrTokens) {
  ASSERT_OK_AND_ASSIGN(auto playbooks, admin().LoadPlaybooks());
  EXPECT_TRUE(playbooks.empty());
  ASSERT_OK_AND_ASSIGN(bool has_token, admin().HasToken("abc"));
  EXPECT_FALSE(has_token);
}

TEST_P(AdminConformance, PlaybookPutInATxnCommitsWithIt) {
  const StoredPlaybook first{.community = "c1", .toml = "[welcome]\n", .updated_at = kT0};
  ASSERT_OK(admin().PutPlaybook({.community = "c1", .toml = "old", .updated_at = kT0 - 1}));
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutPlaybook(first));
    // Not visible before the commit.
    ASSERT_OK_AND_ASSIGN(auto before, admin().LoadPlaybooks());
    ASSERT_EQ(before.size(), 1u);
    EXPECT_EQ(before[0].toml, "old");
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto loaded, admin().LoadPlaybooks());
  EXPECT_SAME(loaded, std::vector<StoredPlaybook>{first}) << "replaced by slug";
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK_AND_ASSIGN(loaded, admin().LoadPlaybooks());
  EXPECT_SAME(loaded, std::vector<StoredPlaybook>{first});
}

TEST_P(AdminConformance, PlaybookPutInARolledBackTxnLeavesNoTrace) {
  const StoredPlaybook kept{.community = "c1", .toml = "kept", .updated_at = kT0};
  ASSERT_OK(admin().PutPlaybook(kept));
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutPlaybook({.community = "c1", .toml = "replaced", .updated_at = kT0 + 1}));
    ASSERT_OK(txn->PutPlaybook({.community = "c2", .toml = "new", .updated_at = kT0 + 2}));
    // Destroyed without Commit().
  }
  ASSERT_OK_AND_ASSIGN(auto loaded, admin().LoadPlaybooks());
  EXPECT_SAME(loaded, std::vector<StoredPlaybook>{kept});
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK_AND_ASSIGN(loaded, admin().LoadPlaybooks());
  EXPECT_SAME(loaded, std::vector<StoredPlaybook>{kept});
}

}  // namespace
}  // namespace qz
