// The console's account and token operations (store/accounts.hpp) and their rules, roles per
// community included, over the SQLite store: what the API and the CLI share.
#include "store/accounts.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

const AccountActor kOwner{
    .kind = AccountActor::Kind::kAccount, .name = "root", .role = AccountRole::kOwner};
const AccountActor kAdmin{
    .kind = AccountActor::Kind::kAccount, .name = "ops", .role = AccountRole::kAdmin};
const AccountActor kAdminToken{
    .kind = AccountActor::Kind::kToken, .name = "ci", .role = AccountRole::kAdmin};

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "qz_accounts_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = OpenSqliteStore({.path = dir_ + "/qunzhu.db"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    // Two owners ("root", "boss") and an admin ("ops"), made by the command line.
    for (const auto& [name, role] :
         {std::pair{"root", AccountRole::kOwner}, std::pair{"boss", AccountRole::kOwner},
          std::pair{"ops", AccountRole::kAdmin}}) {
      ASSERT_OK_AND_ASSIGN(auto made, AddAccount(*store_, AccountActor{}, name, role,
                                                 std::string("password-of-") + name, 1));
      ASSERT_EQ(made.refused, AccountRefusal::kNone);
    }
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Account Get(const std::string& name) {
    auto a = store_->GetAccount(name);
    EXPECT_TRUE(a.ok() && a->has_value()) << name;
    return a.ok() && a->has_value() ? **a : Account{};
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(AccountsTest, AddMakesAPasswordOrChecksTheGivenOne) {
  ASSERT_OK_AND_ASSIGN(
      auto made, AddAccount(*store_, kAdmin, "小明", AccountRole::kOperator, std::nullopt, 42));
  ASSERT_EQ(made.refused, AccountRefusal::kNone);
  EXPECT_EQ(made.value.password.size(), 24u);
  EXPECT_EQ(made.value.account.role, AccountRole::kOperator);
  EXPECT_EQ(made.value.account.created_at, 42);
  EXPECT_TRUE(VerifyPassword(Get("小明").password_hash, made.value.password));
  EXPECT_EQ(made.value.account.password_hash.find(made.value.password), std::string::npos);

  const auto weak = AddAccount(*store_, kAdmin, "x1", AccountRole::kViewer, "short", 1);
  EXPECT_EQ(weak.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(weak.status().field(), "password");
  const auto bad_name = AddAccount(*store_, kAdmin, "a b", AccountRole::kViewer, std::nullopt, 1);
  EXPECT_EQ(bad_name.status().field(), "name");
  const auto taken = AddAccount(*store_, kAdmin, "小明", AccountRole::kViewer, std::nullopt, 1);
  EXPECT_EQ(taken.status().code(), Code::kAlreadyExists);
}

TEST_F(AccountsTest, OnlyOwnersGrantOrChangeOwners) {
  ASSERT_OK_AND_ASSIGN(auto owner,
                       AddAccount(*store_, kAdmin, "new", AccountRole::kOwner, std::nullopt, 1));
  EXPECT_EQ(owner.refused, AccountRefusal::kOwnerOnly);
  EXPECT_EQ(AccountRefusalCode(owner.refused), "owner_only");
  ASSERT_OK_AND_ASSIGN(auto absent, store_->GetAccount("new"));
  EXPECT_FALSE(absent.has_value()) << "a refusal changes nothing";

  ASSERT_OK_AND_ASSIGN(auto promote,
                       ChangeAccount(*store_, kAdminToken, "ops", {.role = AccountRole::kOwner}));
  EXPECT_EQ(promote.refused, AccountRefusal::kOwnerOnly);
  ASSERT_OK_AND_ASSIGN(auto demote,
                       ChangeAccount(*store_, kAdmin, "boss", {.role = AccountRole::kAdmin}));
  EXPECT_EQ(demote.refused, AccountRefusal::kOwnerOnly);
  ASSERT_OK_AND_ASSIGN(auto disable, ChangeAccount(*store_, kAdmin, "boss", {.disabled = true}));
  EXPECT_EQ(disable.refused, AccountRefusal::kOwnerOnly);
  ASSERT_OK_AND_ASSIGN(auto reset, ResetPassword(*store_, kAdmin, "boss", std::nullopt));
  EXPECT_EQ(reset.refused, AccountRefusal::kOwnerOnly) << "an admin cannot take an owner's place";
  EXPECT_EQ(Get("boss").role, AccountRole::kOwner);

  ASSERT_OK_AND_ASSIGN(auto by_owner,
                       ChangeAccount(*store_, kOwner, "ops", {.role = AccountRole::kOwner}));
  ASSERT_EQ(by_owner.refused, AccountRefusal::kNone) << by_owner.reason;
  EXPECT_EQ(Get("ops").role, AccountRole::kOwner);
}

TEST_F(AccountsTest, NobodyDisablesOrDemotesThemselvesNorTheLastOwner) {
  ASSERT_OK_AND_ASSIGN(auto self,
                       ChangeAccount(*store_, kOwner, "root", {.role = AccountRole::kAdmin}));
  EXPECT_EQ(self.refused, AccountRefusal::kSelf);
  ASSERT_OK_AND_ASSIGN(self, ChangeAccount(*store_, kAdmin, "ops", {.disabled = true}));
  EXPECT_EQ(self.refused, AccountRefusal::kSelf);
  // A token is nobody's account: an admin token may disable the admin of the same name.
  ASSERT_OK_AND_ASSIGN(auto token, ChangeAccount(*store_,
                                                 AccountActor{.kind = AccountActor::Kind::kToken,
                                                              .name = "ops",
                                                              .role = AccountRole::kAdmin},
                                                 "ops", {.disabled = true}));
  EXPECT_EQ(token.refused, AccountRefusal::kNone);

  // Two enabled owners: one may go; then the other is the last.
  ASSERT_OK_AND_ASSIGN(auto first, ChangeAccount(*store_, kOwner, "boss", {.disabled = true}));
  EXPECT_EQ(first.refused, AccountRefusal::kNone) << first.reason;
  ASSERT_OK_AND_ASSIGN(auto last,
                       ChangeAccount(*store_, AccountActor{}, "root", {.disabled = true}));
  EXPECT_EQ(last.refused, AccountRefusal::kLastOwner);
  EXPECT_EQ(AccountRefusalCode(last.refused), "last_owner");
  ASSERT_OK_AND_ASSIGN(
      last, ChangeAccount(*store_, AccountActor{}, "root", {.role = AccountRole::kAdmin}));
  EXPECT_EQ(last.refused, AccountRefusal::kLastOwner);
  EXPECT_FALSE(Get("root").disabled);
  // A disabled owner does not count, and re-enabling one is no demotion.
  ASSERT_OK_AND_ASSIGN(auto back, ChangeAccount(*store_, kOwner, "boss", {.disabled = false}));
  EXPECT_EQ(back.refused, AccountRefusal::kNone);
  ASSERT_OK_AND_ASSIGN(
      last, ChangeAccount(*store_, AccountActor{}, "root", {.role = AccountRole::kAdmin}));
  EXPECT_EQ(last.refused, AccountRefusal::kNone) << "boss is an enabled owner again";

  EXPECT_EQ(ChangeAccount(*store_, kOwner, "nobody", {.disabled = true}).status().code(),
            Code::kNotFound);
}

// Roles per community (ids 1 and 2; the store does not check that communities exist).
TEST_F(AccountsTest, RolesPerCommunityAreAnAdminsAndNeverOwner) {
  ASSERT_OK_AND_ASSIGN(auto made,
                       AddAccount(*store_, kOwner, "小明", AccountRole::kViewer, std::nullopt, 1));
  ASSERT_EQ(made.refused, AccountRefusal::kNone);
  const AccountActor op{
      .kind = AccountActor::Kind::kAccount, .name = "op", .role = AccountRole::kOperator};
  ASSERT_OK_AND_ASSIGN(auto by_operator,
                       ChangeAccount(*store_, op, "小明",
                                     {.communities = {{1, AccountRole::kOperator}}}));
  EXPECT_EQ(by_operator.refused, AccountRefusal::kAdminOnly);
  EXPECT_EQ(AccountRefusalCode(by_operator.refused), "admin_only");
  const Status owner = ChangeAccount(*store_, kOwner, "小明",
                                     {.communities = {{1, AccountRole::kAdmin},
                                                      {2, AccountRole::kOwner}}})
                           .status();
  EXPECT_EQ(owner.code(), Code::kInvalidArgument) << owner.ToString();
  EXPECT_EQ(owner.field(), "communities");
  ASSERT_OK_AND_ASSIGN(CommunityRoles roles, store_->GetCommunityRoles("小明"));
  EXPECT_TRUE(roles.empty()) << "nothing changed by a refusal or a bad role";

  // An admin grants admin inside a community (higher than the base role) and a lower role.
  ASSERT_OK_AND_ASSIGN(auto granted,
                       ChangeAccount(*store_, kAdminToken, "小明",
                                     {.communities = {{1, AccountRole::kAdmin}}}));
  ASSERT_EQ(granted.refused, AccountRefusal::kNone) << granted.reason;
  EXPECT_EQ(granted.value.communities, (CommunityRoles{{1, AccountRole::kAdmin}}));
  ASSERT_OK_AND_ASSIGN(auto both, ChangeAccount(*store_, kAdmin, "小明",
                                                {.role = AccountRole::kOperator,
                                                 .communities = {{1, std::nullopt},
                                                                 {2, AccountRole::kViewer}}}));
  ASSERT_EQ(both.refused, AccountRefusal::kNone) << both.reason;
  EXPECT_EQ(both.value.account.role, AccountRole::kOperator);
  ASSERT_OK_AND_ASSIGN(roles, store_->GetCommunityRoles("小明"));
  EXPECT_EQ(roles, (CommunityRoles{{2, AccountRole::kViewer}}));
  // Disabling keeps them, for when the account is enabled again.
  ASSERT_OK_AND_ASSIGN(auto disabled, ChangeAccount(*store_, kAdmin, "小明", {.disabled = true}));
  ASSERT_EQ(disabled.refused, AccountRefusal::kNone);
  ASSERT_OK_AND_ASSIGN(roles, store_->GetCommunityRoles("小明"));
  EXPECT_EQ(roles, (CommunityRoles{{2, AccountRole::kViewer}}));
}

TEST_F(AccountsTest, TheSelfAndOwnerRulesHoldInsideCommunities) {
  // Lowering oneself inside a community is a demotion; raising is not.
  ASSERT_OK_AND_ASSIGN(auto self, ChangeAccount(*store_, kAdmin, "ops",
                                                {.communities = {{1, AccountRole::kOperator}}}));
  EXPECT_EQ(self.refused, AccountRefusal::kSelf);
  ASSERT_OK(store_->ChangeCommunityRoles("ops", {{2, AccountRole::kViewer}}));
  ASSERT_OK_AND_ASSIGN(auto raise, ChangeAccount(*store_, kAdmin, "ops",
                                                 {.communities = {{2, std::nullopt}}}));
  EXPECT_EQ(raise.refused, AccountRefusal::kNone) << raise.reason;
  ASSERT_OK(store_->ChangeCommunityRoles("ops", {{2, AccountRole::kViewer}}));
  ASSERT_OK_AND_ASSIGN(self, ChangeAccount(*store_, kAdmin, "ops", {.role = AccountRole::kOwner}));
  EXPECT_EQ(self.refused, AccountRefusal::kOwnerOnly);

  // An owner's roles per community are the owners' to change.
  ASSERT_OK_AND_ASSIGN(auto owner, ChangeAccount(*store_, kAdmin, "boss",
                                                 {.communities = {{1, AccountRole::kAdmin}}}));
  EXPECT_EQ(owner.refused, AccountRefusal::kOwnerOnly);
  // With two owners one may be lowered inside a community; the last stays owner everywhere.
  ASSERT_OK_AND_ASSIGN(owner, ChangeAccount(*store_, kOwner, "boss",
                                            {.communities = {{1, AccountRole::kAdmin}}}));
  EXPECT_EQ(owner.refused, AccountRefusal::kNone) << owner.reason;
  ASSERT_OK_AND_ASSIGN(auto gone, ChangeAccount(*store_, kOwner, "boss", {.disabled = true}));
  ASSERT_EQ(gone.refused, AccountRefusal::kNone) << gone.reason;
  ASSERT_OK_AND_ASSIGN(auto last, ChangeAccount(*store_, AccountActor{}, "root",
                                                {.communities = {{1, AccountRole::kAdmin}}}));
  EXPECT_EQ(last.refused, AccountRefusal::kLastOwner);
  ASSERT_OK_AND_ASSIGN(CommunityRoles roles, store_->GetCommunityRoles("root"));
  EXPECT_TRUE(roles.empty());
}

TEST(CommunityRoleNamesTest, SlugsAndRoles) {
  const std::vector<Community> communities = {{.id = 1, .slug = "camp"}, {.id = 2, .slug = "fans"}};
  ASSERT_OK_AND_ASSIGN(const CommunityId fans, CommunityIdOfSlug(communities, "fans", "f"));
  EXPECT_EQ(fans, 2);
  const Status unknown = CommunityIdOfSlug(communities, "Camp", "communities.Camp").status();
  EXPECT_EQ(unknown.code(), Code::kInvalidArgument);
  EXPECT_EQ(unknown.field(), "communities.Camp") << "slugs compare exactly";
  EXPECT_EQ(RolesBySlug({{2, AccountRole::kViewer}, {1, AccountRole::kAdmin},
                         {7, AccountRole::kOperator}},
                        communities),
            (std::map<std::string, AccountRole>{{"camp", AccountRole::kAdmin},
                                                {"fans", AccountRole::kViewer}}))
      << "a community that does not exist is left out";
  ASSERT_OK_AND_ASSIGN(const AccountRole role, ParseCommunityRole("admin", "--role"));
  EXPECT_EQ(role, AccountRole::kAdmin);
  EXPECT_EQ(ParseCommunityRole("owner", "--role").status().field(), "--role");
  EXPECT_EQ(ParseCommunityRole("boss", "x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RoleInCommunity(AccountRole::kOperator, {{1, AccountRole::kViewer}}, 1),
            AccountRole::kViewer);
  EXPECT_EQ(RoleInCommunity(AccountRole::kOperator, {{1, AccountRole::kViewer}}, 2),
            AccountRole::kOperator);
  EXPECT_EQ(BestRole(AccountRole::kViewer, {{1, AccountRole::kAssistant}, {2, AccountRole::kAdmin}}),
            AccountRole::kAdmin);
  EXPECT_EQ(BestRole(AccountRole::kOperator, {{1, AccountRole::kViewer}}), AccountRole::kOperator);
}

TEST_F(AccountsTest, DisablingAndResettingEndTheSessions) {
  ASSERT_OK(store_->PutSession({.hash = "s1", .account = "ops", .csrf = "c", .expires_at = 99}));
  ASSERT_OK(store_->PutSession({.hash = "s2", .account = "ops", .csrf = "c", .expires_at = 99}));
  ASSERT_OK_AND_ASSIGN(auto reset, ResetPassword(*store_, kOwner, "ops", std::nullopt));
  ASSERT_EQ(reset.refused, AccountRefusal::kNone);
  EXPECT_EQ(reset.value.sessions_ended, 2);
  EXPECT_TRUE(VerifyPassword(Get("ops").password_hash, reset.value.password));
  EXPECT_FALSE(VerifyPassword(Get("ops").password_hash, "password-of-ops"));

  ASSERT_OK(store_->PutSession({.hash = "s3", .account = "ops", .csrf = "c", .expires_at = 99}));
  ASSERT_OK_AND_ASSIGN(auto disabled, ChangeAccount(*store_, kOwner, "ops", {.disabled = true}));
  EXPECT_EQ(disabled.value.sessions_ended, 1);
  ASSERT_OK_AND_ASSIGN(auto session, store_->GetSession("s3"));
  EXPECT_FALSE(session.has_value());
}

TEST_F(AccountsTest, TokensAreIssuedAndRevokedByName) {
  ASSERT_OK_AND_ASSIGN(auto made, IssueToken(*store_, kAdmin, "看板", AccountRole::kViewer, 7,
                                             /*unique_name=*/true));
  ASSERT_EQ(made.refused, AccountRefusal::kNone);
  EXPECT_EQ(made.value.secret.rfind("qz_", 0), 0u);
  EXPECT_EQ(made.value.secret.size(), 51u);
  ASSERT_OK_AND_ASSIGN(auto found, store_->FindToken(Sha256Hex(made.value.secret)));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, made.value.token);
  EXPECT_NE(found->hash, made.value.secret) << "only the hash is stored";

  EXPECT_EQ(IssueToken(*store_, kAdmin, "看板", AccountRole::kViewer, 7, true).status().code(),
            Code::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(auto repeat,
                       IssueToken(*store_, AccountActor{}, "看板", AccountRole::kViewer, 8, false));
  EXPECT_EQ(repeat.refused, AccountRefusal::kNone) << "the CLI may repeat a name";
  EXPECT_EQ(IssueToken(*store_, kAdmin, "a b", AccountRole::kViewer, 7, true).status().field(),
            "name");
  ASSERT_OK_AND_ASSIGN(auto owner,
                       IssueToken(*store_, kAdmin, "root-token", AccountRole::kOwner, 7, true));
  EXPECT_EQ(owner.refused, AccountRefusal::kOwnerOnly);

  ASSERT_OK_AND_ASSIGN(auto by_owner,
                       IssueToken(*store_, kOwner, "root-token", AccountRole::kOwner, 7, true));
  ASSERT_EQ(by_owner.refused, AccountRefusal::kNone);
  ASSERT_OK_AND_ASSIGN(auto revoke_owner, RevokeTokens(*store_, kAdmin, "root-token"));
  EXPECT_EQ(revoke_owner.refused, AccountRefusal::kOwnerOnly);
  ASSERT_OK_AND_ASSIGN(auto revoked, RevokeTokens(*store_, kAdmin, "看板"));
  ASSERT_EQ(revoked.refused, AccountRefusal::kNone);
  EXPECT_EQ(revoked.value, 2);
  EXPECT_EQ(RevokeTokens(*store_, kAdmin, "看板").status().code(), Code::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto left, store_->ListTokens());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, "root-token");
}

}  // namespace
}  // namespace qz
