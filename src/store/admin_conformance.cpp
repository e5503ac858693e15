// Conformance of AdminStore (tokens, accounts and their roles per community, sessions,
// playbooks), and StoreTxn::PutPlaybook.
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
  ASSERT_OK_AND_ASSIGN(auto before, admin().FindToken("aa11"));
  EXPECT_FALSE(before.has_value());
  const ApiToken ci{.hash = "aa11", .name = "ci", .created_at = kT0, .role = AccountRole::kViewer};
  const ApiToken ops{.hash = "bb22", .name = "ops", .created_at = kT0 + 1};
  ASSERT_OK(admin().PutToken(ci));
  ASSERT_OK(admin().PutToken(ops));
  EXPECT_EQ(ops.role, AccountRole::kOwner) << "a token's role defaults to owner";
  const ApiToken renamed{.hash = "aa11", .name = "ci renamed", .created_at = kT0 + 2,
                         .role = AccountRole::kOperator};
  ASSERT_OK(admin().PutToken(renamed));
  ASSERT_OK_AND_ASSIGN(auto a, admin().FindToken("aa11"));
  EXPECT_EQ(a, std::optional<ApiToken>(renamed)) << "replaced by hash, role included";
  ASSERT_OK_AND_ASSIGN(auto b, admin().FindToken("bb22"));
  EXPECT_EQ(b, std::optional<ApiToken>(ops));
  ASSERT_OK_AND_ASSIGN(auto c, admin().FindToken("AA11"));
  EXPECT_FALSE(c.has_value()) << "hashes compare exactly";
  ASSERT_OK_AND_ASSIGN(auto d, admin().FindToken(""));
  EXPECT_FALSE(d.has_value());
  for (const AccountRole role : kAccountRoles) {
    const ApiToken t{.hash = "r" + std::string(AccountRoleName(role)), .name = "r", .role = role};
    ASSERT_OK(admin().PutToken(t));
  }
  Reopen();
  ASSERT_OK_AND_ASSIGN(a, admin().FindToken("aa11"));
  EXPECT_EQ(a, std::optional<ApiToken>(renamed));
  for (const AccountRole role : kAccountRoles) {
    ASSERT_OK_AND_ASSIGN(auto t, admin().FindToken("r" + std::string(AccountRoleName(role))));
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->role, role) << "every role is stored as itself";
  }
}

TEST_P(AdminConformance, TokensListedByNameAndDeletedByName) {
  ASSERT_OK_AND_ASSIGN(auto none, admin().ListTokens());
  EXPECT_TRUE(none.empty());
  const ApiToken ops2{.hash = "h3", .name = "ops", .created_at = kT0 + 5};
  const ApiToken ci{.hash = "h1", .name = "ci", .created_at = kT0 + 9, .role = AccountRole::kViewer};
  const ApiToken ops1{.hash = "h2", .name = "ops", .created_at = kT0 + 1,
                      .role = AccountRole::kOperator};
  const ApiToken cjk{.hash = "h4", .name = "看板", .created_at = kT0};
  for (const ApiToken& t : {ops2, ci, ops1, cjk}) ASSERT_OK(admin().PutToken(t));
  ASSERT_OK_AND_ASSIGN(auto listed, admin().ListTokens());
  EXPECT_EQ(listed, (std::vector<ApiToken>{ci, ops1, ops2, cjk})) << "by name, then created_at";

  ASSERT_OK_AND_ASSIGN(const int64_t gone, admin().DeleteTokens("ops"));
  EXPECT_EQ(gone, 2) << "every token of the name";
  ASSERT_OK_AND_ASSIGN(const int64_t nothing, admin().DeleteTokens("OPS"));
  EXPECT_EQ(nothing, 0) << "names compare exactly";
  ASSERT_OK_AND_ASSIGN(auto found, admin().FindToken("h2"));
  EXPECT_FALSE(found.has_value()) << "a deleted token is not found";
  Reopen();
  ASSERT_OK_AND_ASSIGN(listed, admin().ListTokens());
  EXPECT_EQ(listed, (std::vector<ApiToken>{ci, cjk}));
}

TEST_P(AdminConformance, AccountsCreateGetListAndUpdate) {
  ASSERT_OK_AND_ASSIGN(auto none, admin().ListAccounts());
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(auto missing, admin().GetAccount("admin"));
  EXPECT_FALSE(missing.has_value());
  const Account owner{.name = "admin", .password_hash = "$argon2id$one", .role = AccountRole::kOwner,
                      .created_at = kT0};
  const Account viewer{.name = "小明", .password_hash = "$argon2id$two", .role = AccountRole::kViewer,
                       .created_at = kT0 + 1, .disabled = true};
  const Account upper{.name = "Admin", .password_hash = "$argon2id$three",
                      .role = AccountRole::kOperator, .created_at = kT0 + 2};
  ASSERT_OK(admin().CreateAccount(owner));
  ASSERT_OK(admin().CreateAccount(viewer));
  ASSERT_OK(admin().CreateAccount(upper));  // names compare exactly: 'Admin' is not 'admin'

  // A taken name is refused and the account stays as it was.
  const Status taken = admin().CreateAccount({.name = "admin", .password_hash = "$x",
                                              .role = AccountRole::kViewer, .created_at = kT0 + 9});
  EXPECT_EQ(taken.code(), Code::kAlreadyExists) << taken.ToString();
  ASSERT_OK_AND_ASSIGN(auto got, admin().GetAccount("admin"));
  EXPECT_EQ(got, std::optional<Account>(owner));
  ASSERT_OK_AND_ASSIGN(auto list, admin().ListAccounts());
  EXPECT_EQ(list, (std::vector<Account>{upper, owner, viewer})) << "ordered by name, bytewise";

  // Update replaces hash, role and the flag; created_at stays.
  Account changed = viewer;
  changed.password_hash = "$argon2id$new";
  changed.role = AccountRole::kAssistant;
  changed.disabled = false;
  changed.created_at = kT0 + 100;
  ASSERT_OK(admin().UpdateAccount(changed));
  changed.created_at = viewer.created_at;
  ASSERT_OK_AND_ASSIGN(got, admin().GetAccount("小明"));
  EXPECT_EQ(got, std::optional<Account>(changed));
  const Status unknown = admin().UpdateAccount({.name = "nobody", .password_hash = "$x"});
  EXPECT_EQ(unknown.code(), Code::kNotFound) << unknown.ToString();
  ASSERT_OK_AND_ASSIGN(missing, admin().GetAccount("nobody"));
  EXPECT_FALSE(missing.has_value()) << "an update creates nothing";

  Reopen();
  ASSERT_OK_AND_ASSIGN(list, admin().ListAccounts());
  EXPECT_EQ(list, (std::vector<Account>{upper, owner, changed}));
}

TEST_P(AdminConformance, CommunityRolesSetReadAndRemove) {
  const Account lead{.name = "lead", .password_hash = "$x", .role = AccountRole::kViewer,
                     .created_at = kT0};
  const Account helper{.name = "小明", .password_hash = "$y", .role = AccountRole::kOperator,
                       .created_at = kT0 + 1};
  const Account plain{.name = "plain", .password_hash = "$z", .created_at = kT0 + 2};
  for (const Account& a : {lead, helper, plain}) ASSERT_OK(admin().CreateAccount(a));
  ASSERT_OK_AND_ASSIGN(CommunityRoles none, admin().GetCommunityRoles("lead"));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(auto listed, admin().ListCommunityRoles());
  EXPECT_TRUE(listed.empty());

  ASSERT_OK(admin().ChangeCommunityRoles(
      "lead", {{1, AccountRole::kOperator}, {2, AccountRole::kAdmin}, {7, std::nullopt}}));
  ASSERT_OK(admin().ChangeCommunityRoles("小明", {{2, AccountRole::kViewer}}));
  ASSERT_OK_AND_ASSIGN(CommunityRoles roles, admin().GetCommunityRoles("lead"));
  EXPECT_EQ(roles, (CommunityRoles{{1, AccountRole::kOperator}, {2, AccountRole::kAdmin}}))
      << "removing a role the account does not have is no error";
  ASSERT_OK_AND_ASSIGN(roles, admin().GetCommunityRoles("LEAD"));
  EXPECT_TRUE(roles.empty()) << "names compare exactly";

  // Replace one, remove one, add one: together.
  ASSERT_OK(admin().ChangeCommunityRoles(
      "lead", {{1, AccountRole::kAssistant}, {2, std::nullopt}, {3, AccountRole::kViewer}}));
  const CommunityRoles lead_roles{{1, AccountRole::kAssistant}, {3, AccountRole::kViewer}};
  ASSERT_OK_AND_ASSIGN(roles, admin().GetCommunityRoles("lead"));
  EXPECT_EQ(roles, lead_roles);
  ASSERT_OK_AND_ASSIGN(listed, admin().ListCommunityRoles());
  EXPECT_EQ(listed, (std::map<std::string, CommunityRoles>{
                        {"lead", lead_roles}, {"小明", {{2, AccountRole::kViewer}}}}))
      << "every account that has roles, by name; none for an account without";

  // Every role but owner is stored as itself (the store refuses none; accounts.cpp does).
  for (const AccountRole role : kAccountRoles) {
    ASSERT_OK(admin().ChangeCommunityRoles("plain", {{4, role}}));
    ASSERT_OK_AND_ASSIGN(roles, admin().GetCommunityRoles("plain"));
    EXPECT_EQ(roles, (CommunityRoles{{4, role}})) << AccountRoleName(role);
  }
  ASSERT_OK(admin().ChangeCommunityRoles("plain", {{4, std::nullopt}}));

  // A disabled account keeps its roles (they apply again when it is enabled).
  Account disabled = lead;
  disabled.disabled = true;
  ASSERT_OK(admin().UpdateAccount(disabled));
  Reopen();
  ASSERT_OK_AND_ASSIGN(roles, admin().GetCommunityRoles("lead"));
  EXPECT_EQ(roles, lead_roles);
  ASSERT_OK_AND_ASSIGN(listed, admin().ListCommunityRoles());
  EXPECT_EQ(listed.size(), 2u) << "an account whose roles were all removed is not listed";
}

TEST_P(AdminConformance, CommunityRolesOfAnUnknownAccountChangeNothing) {
  ASSERT_OK(admin().CreateAccount({.name = "lead", .password_hash = "$x", .created_at = kT0}));
  ASSERT_OK(admin().ChangeCommunityRoles("lead", {{1, AccountRole::kOperator}}));
  const Status unknown = admin().ChangeCommunityRoles("nobody", {{1, AccountRole::kAdmin}});
  EXPECT_EQ(unknown.code(), Code::kNotFound) << unknown.ToString();
  ASSERT_OK_AND_ASSIGN(CommunityRoles roles, admin().GetCommunityRoles("nobody"));
  EXPECT_TRUE(roles.empty()) << "no row for an account that does not exist";
  ASSERT_OK_AND_ASSIGN(auto listed, admin().ListCommunityRoles());
  EXPECT_EQ(listed, (std::map<std::string, CommunityRoles>{
                        {"lead", {{1, AccountRole::kOperator}}}}));
  ASSERT_OK(admin().ChangeCommunityRoles("lead", {}));  // nothing to change is no error
  ASSERT_OK_AND_ASSIGN(roles, admin().GetCommunityRoles("lead"));
  EXPECT_EQ(roles, (CommunityRoles{{1, AccountRole::kOperator}}));
}

TEST_P(AdminConformance, SessionsPutGetAndDelete) {
  const Session a1{.hash = "s1", .account = "admin", .csrf = "c1", .created_at = kT0,
                   .expires_at = kT0 + 100};
  const Session a2{.hash = "s2", .account = "admin", .csrf = "c2", .created_at = kT0 + 1,
                   .expires_at = kT0 + 200};
  const Session b1{.hash = "s3", .account = "小明", .csrf = "c3", .created_at = kT0 + 2,
                   .expires_at = kT0 + 50};
  ASSERT_OK_AND_ASSIGN(auto none, admin().GetSession("s1"));
  EXPECT_FALSE(none.has_value());
  for (const Session& s : {a1, a2, b1}) ASSERT_OK(admin().PutSession(s));
  ASSERT_OK_AND_ASSIGN(auto got, admin().GetSession("s1"));
  EXPECT_EQ(got, std::optional<Session>(a1));
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("S1"));
  EXPECT_FALSE(got.has_value()) << "hashes compare exactly";
  // Reported whatever its expiry: the caller decides.
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s3"));
  EXPECT_EQ(got, std::optional<Session>(b1));

  Reopen();
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s2"));
  EXPECT_EQ(got, std::optional<Session>(a2));

  // Expired: expires_at <= now.
  ASSERT_OK_AND_ASSIGN(int64_t expired, admin().DeleteExpiredSessions(kT0 + 49));
  EXPECT_EQ(expired, 0);
  ASSERT_OK_AND_ASSIGN(expired, admin().DeleteExpiredSessions(kT0 + 50));
  EXPECT_EQ(expired, 1);
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s3"));
  EXPECT_FALSE(got.has_value());
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s1"));
  EXPECT_TRUE(got.has_value());

  // One session, then every session of an account.
  ASSERT_OK(admin().DeleteSession("s1"));
  ASSERT_OK(admin().DeleteSession("s1"));  // deleting an unknown session is no error
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s1"));
  EXPECT_FALSE(got.has_value());
  ASSERT_OK(admin().PutSession(b1));
  ASSERT_OK_AND_ASSIGN(int64_t ended, admin().DeleteAccountSessions("admin"));
  EXPECT_EQ(ended, 1);
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s2"));
  EXPECT_FALSE(got.has_value());
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s3"));
  EXPECT_EQ(got, std::optional<Session>(b1)) << "another account's session stays";
  ASSERT_OK_AND_ASSIGN(ended, admin().DeleteAccountSessions("nobody"));
  EXPECT_EQ(ended, 0);

  // Put replaces by hash.
  Session moved = b1;
  moved.csrf = "c4";
  moved.expires_at = kT0 + 999;
  ASSERT_OK(admin().PutSession(moved));
  ASSERT_OK_AND_ASSIGN(got, admin().GetSession("s3"));
  EXPECT_EQ(got, std::optional<Session>(moved));
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


TEST_P(AdminConformance, FreshStoreHasNoPlaybooksTokensAccountsOrSessions) {
  ASSERT_OK_AND_ASSIGN(auto playbooks, admin().LoadPlaybooks());
  EXPECT_TRUE(playbooks.empty());
  ASSERT_OK_AND_ASSIGN(auto token, admin().FindToken("abc"));
  EXPECT_FALSE(token.has_value());
  ASSERT_OK_AND_ASSIGN(auto accounts, admin().ListAccounts());
  EXPECT_TRUE(accounts.empty());
  ASSERT_OK_AND_ASSIGN(auto session, admin().GetSession("abc"));
  EXPECT_FALSE(session.has_value());
  ASSERT_OK_AND_ASSIGN(auto roles, admin().ListCommunityRoles());
  EXPECT_TRUE(roles.empty());
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
