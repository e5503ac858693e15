// The console's account and token operations (store/accounts.hpp) and their rules, over the
// SQLite store: what the API and the CLI share.
#include "store/accounts.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

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
