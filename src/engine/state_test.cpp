// The effect of events on the materialised state, through the ShardWriter as ingest runs it.
#include "engine/shard_writer.hpp"

#include <gtest/gtest.h>

#include "core/time.hpp"
#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"

namespace qz {
namespace {

using testing::Batch;

class ShardWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenStore(dir_.path());
    auto w = ShardWriter::Open(*store_);
    ASSERT_TRUE(w.ok());
    writer_ = std::move(*w);
  }

  std::vector<ItemOutcome> Apply(std::string_view ndjson) {
    IngestBatch b = Batch(ndjson);
    EXPECT_TRUE(b.rejected.empty()) << b.rejected[0].error.ToString();
    std::vector<WriteItem> items;
    for (size_t i = 0; i < b.events.size(); ++i) items.push_back({&b.events[i], &b.json[i]});
    auto out = writer_->ApplyBatch(items);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->outcomes : std::vector<ItemOutcome>{};
  }

  const Member& MemberOf(std::string_view platform, std::string_view ext, CommunityId c = 1) {
    const Identity* i = writer_->state().FindIdentity(c, platform, ext);
    EXPECT_NE(i, nullptr) << ext;
    return *writer_->state().FindMember(i->member_id);
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ShardWriter> writer_;
};

TEST_F(ShardWriterTest, FirstSightRegistersCommunityGroupAndMember) {
  auto out = Apply(
      R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00+08:00","platform":"wecom","group":"camp-1","group_name":"成长营1群","member":"u1","name":"小明","via":{"code":"channel:article"}})"
      "\n"
      R"({"id":"m1","type":"message","time":"2026-03-01T08:05:00+08:00","platform":"wecom","group":"camp-1","member":"u1","text":"大家好"})");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].outcome, Outcome::kAppended);
  const State& s = writer_->state();
  const Community* c = s.FindCommunityBySlug("default");
  ASSERT_NE(c, nullptr);
  const Group* g = s.FindGroupByExternal("wecom", "camp-1");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->community_id, c->id);
  EXPECT_EQ(g->name, "成长营1群");
  EXPECT_EQ(g->member_count, 1);
  EXPECT_EQ(g->joins, 1);
  EXPECT_EQ(g->messages, 1);
  const Member& m = MemberOf("wecom", "u1");
  EXPECT_EQ(m.display_name, "小明");
  EXPECT_EQ(m.messages, 1);
  EXPECT_EQ(m.channel, "channel:article");
  const Membership* ms = s.FindMembership(g->id, m.id);
  ASSERT_NE(ms, nullptr);
  EXPECT_TRUE(ms->active);
  EXPECT_EQ(ms->messages, 1);
}

TEST_F(ShardWriterTest, KnownGroupKeepsItsCommunityAndAMismatchIsRejected) {
  Apply(R"({"id":"a","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","community":"camp","group":"g1","member":"u1"})");
  auto out = Apply(
      R"({"id":"b","type":"message","time":"2026-03-01T08:00:01Z","platform":"qq","group":"g1","member":"u2"})"
      "\n"
      R"({"id":"c","type":"message","time":"2026-03-01T08:00:02Z","platform":"qq","community":"fans","group":"g1","member":"u3"})");
  EXPECT_EQ(out[0].outcome, Outcome::kAppended);
  ASSERT_EQ(out[1].outcome, Outcome::kRejected);
  EXPECT_EQ(out[1].error.field(), "community");
  const State& s = writer_->state();
  EXPECT_EQ(s.FindCommunityBySlug("fans"), nullptr);  // nothing of the rejected event applied
  const Community* camp = s.FindCommunityBySlug("camp");
  ASSERT_NE(camp, nullptr);
  EXPECT_NE(s.FindIdentity(camp->id, "qq", "u2"), nullptr);
  EXPECT_EQ(s.FindIdentity(camp->id, "qq", "u3"), nullptr);
}

TEST_F(ShardWriterTest, DuplicateChangesNothingEvenWithADifferentBody) {
  Apply(R"({"id":"m1","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u1"})");
  auto before = writer_->state().ToSnapshot();
  auto out = Apply(
      R"({"id":"m1","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u1"})"
      "\n"
      R"({"id":"m1","type":"order","time":"2026-03-02T08:00:00Z","platform":"qq","group":"other","member":"stranger","amount":"5"})");
  EXPECT_EQ(out[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(out[1].outcome, Outcome::kDuplicate);
  EXPECT_EQ(writer_->state().ToSnapshot(), before);
  // The same id on another platform is a different event.
  out = Apply(R"({"id":"m1","type":"message","time":"2026-03-01T08:00:00Z","platform":"wecom","group":"g","member":"u1"})");
  EXPECT_EQ(out[0].outcome, Outcome::kAppended);
}

TEST_F(ShardWriterTest, LeaveAndRejoinKeepCountsRight) {
  Apply(R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u1"})"
        "\n"
        R"({"id":"l1","type":"member_left","time":"2026-03-02T08:00:00Z","platform":"qq","group":"g","member":"u1","reason":"removed"})");
  const State& s = writer_->state();
  const Group* g = s.FindGroupByExternal("qq", "g");
  EXPECT_EQ(g->member_count, 0);
  EXPECT_EQ(g->leaves, 1);
  const Membership* ms = s.FindMembership(g->id, MemberOf("qq", "u1").id);
  EXPECT_FALSE(ms->active);
  EXPECT_EQ(ms->left_reason, LeaveReason::kRemoved);
  Apply(R"({"id":"j2","type":"member_joined","time":"2026-03-03T08:00:00Z","platform":"qq","group":"g","member":"u1"})");
  g = s.FindGroupByExternal("qq", "g");
  EXPECT_EQ(g->member_count, 1);
  EXPECT_EQ(g->joins, 2);
  EXPECT_TRUE(s.FindMembership(g->id, MemberOf("qq", "u1").id)->active);
}

TEST_F(ShardWriterTest, InviterGetsCreditOnceAndIsCreatedIfUnknown) {
  Apply(R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u2","via":{"inviter":"u1","code":"poster:u1"}})"
        "\n"
        R"({"id":"j2","type":"member_joined","time":"2026-03-01T09:00:00Z","platform":"qq","group":"g2","member":"u2","via":{"inviter":"u9"}})");
  const Member& invitee = MemberOf("qq", "u2");
  const Member& inviter = MemberOf("qq", "u1");
  EXPECT_EQ(invitee.referrer_id, inviter.id);
  EXPECT_EQ(invitee.channel, "poster:u1");
  EXPECT_EQ(inviter.invited, 1);
  EXPECT_EQ(MemberOf("qq", "u9").invited, 0);  // the first referrer keeps the credit
}

TEST_F(ShardWriterTest, OrdersTagsAndNames) {
  Apply(R"({"id":"o1","type":"order","time":"2026-03-01T08:00:00Z","platform":"shop","member":"u1","name":"阿强","amount":"9.9"})"
        "\n"
        R"({"id":"o2","type":"order","time":"2026-03-02T08:00:00Z","platform":"shop","member":"u1","name":"强哥","amount":"1999"})"
        "\n"
        R"({"id":"t1","type":"tag_changed","time":"2026-03-02T08:00:00Z","platform":"shop","member":"u1","tag":"意向客户"})"
        "\n"
        R"({"id":"t2","type":"tag_changed","time":"2026-03-02T09:00:00Z","platform":"shop","member":"u1","tag":"trial"})"
        "\n"
        R"({"id":"t3","type":"tag_changed","time":"2026-03-02T10:00:00Z","platform":"shop","member":"u1","tag":"trial","op":"remove"})");
  const Member& m = MemberOf("shop", "u1");
  EXPECT_EQ(m.orders, 2);
  EXPECT_EQ(m.order_amount_e4, 20089000);
  EXPECT_EQ(m.display_name, "强哥");
  auto snap = writer_->state().ToSnapshot();
  ASSERT_EQ(snap.names.size(), 2u);
  ASSERT_EQ(snap.tags.size(), 1u);
  EXPECT_EQ(snap.tags[0].tag, "意向客户");
  EXPECT_TRUE(snap.groups.empty());  // an order names no group
}

TEST_F(ShardWriterTest, AJoinRequestKnowsTheMemberButMakesNoMembership) {
  Apply(R"({"id":"r1","type":"join_request","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u1","name":"申请人","text":"朋友推荐","request":"flag-1"})");
  const State& s = writer_->state();
  const Group* g = s.FindGroupByExternal("qq", "g");
  ASSERT_NE(g, nullptr);
  const Member& m = MemberOf("qq", "u1");
  EXPECT_EQ(m.display_name, "申请人");
  EXPECT_EQ(s.FindMembership(g->id, m.id), nullptr);
  EXPECT_EQ(g->member_count, 0);
}

TEST_F(ShardWriterTest, ASyncedMemberIsActiveWithItsRoleWithoutCountingAJoin) {
  Apply(R"({"id":"s1","type":"member_synced","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u1","role":"admin"})"
        "\n"
        R"({"id":"l1","type":"member_left","time":"2026-03-02T08:00:00Z","platform":"qq","group":"g","member":"u2"})"
        "\n"
        R"({"id":"s2","type":"member_synced","time":"2026-03-03T08:00:00Z","platform":"qq","group":"g","member":"u2","role":"member"})");
  const State& s = writer_->state();
  const Group* g = s.FindGroupByExternal("qq", "g");
  EXPECT_EQ(g->joins, 0);
  EXPECT_EQ(g->member_count, 2);  // u2 listed after leaving: back
  const Membership* ms = s.FindMembership(g->id, MemberOf("qq", "u1").id);
  ASSERT_NE(ms, nullptr);
  EXPECT_TRUE(ms->active);
  EXPECT_EQ(ms->role, Role::kAdmin);
  // A later sync that changes nothing stays out of the log; one that changes the role does not.
  auto out = Apply(
      R"({"id":"s3","type":"member_synced","time":"2026-03-04T08:00:00Z","platform":"qq","group":"g","member":"u1","role":"admin"})"
      "\n"
      R"({"id":"s4","type":"member_synced","time":"2026-03-04T08:00:00Z","platform":"qq","group":"g","member":"u2","role":"owner"})");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(out[1].outcome, Outcome::kAppended);
  EXPECT_EQ(s.FindMembership(g->id, MemberOf("qq", "u2").id)->role, Role::kOwner);
}

TEST_F(ShardWriterTest, ABoundGroupMovesWithItsActiveMembers) {
  Apply(R"({"id":"c","type":"message","time":"2026-03-01T07:00:00Z","platform":"qq","community":"camp","group":"other","member":"u9"})"
        "\n"
        R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u1","name":"一","role":"admin","via":{"code":"poster"}})"
        "\n"
        R"({"id":"m1","type":"message","time":"2026-03-01T08:01:00Z","platform":"qq","group":"g","member":"u1"})"
        "\n"
        R"({"id":"j2","type":"member_joined","time":"2026-03-01T08:02:00Z","platform":"qq","group":"g","member":"u2"})"
        "\n"
        R"({"id":"l2","type":"member_left","time":"2026-03-01T08:03:00Z","platform":"qq","group":"g","member":"u2"})"
        "\n"
        R"({"id":"b1","type":"group_bound","time":"2026-03-01T09:00:00Z","platform":"qq","group":"g","to":"camp"})"
        "\n"
        R"({"id":"m2","type":"message","time":"2026-03-01T10:00:00Z","platform":"qq","group":"g","member":"u1"})");
  const State& s = writer_->state();
  const Community* camp = s.FindCommunityBySlug("camp");
  const Community* dflt = s.FindCommunityBySlug("default");
  ASSERT_NE(camp, nullptr);
  ASSERT_NE(dflt, nullptr);
  const Group* g = s.FindGroupByExternal("qq", "g");
  EXPECT_EQ(g->community_id, camp->id);
  EXPECT_EQ(g->member_count, 1);
  // u1 is now a member of camp with the membership's history; the default member's ended.
  const Member& moved = MemberOf("qq", "u1", camp->id);
  EXPECT_EQ(moved.display_name, "一");
  EXPECT_EQ(moved.messages, 1);  // m2 only: the earlier message stays with the old member
  const Membership* into = s.FindMembership(g->id, moved.id);
  ASSERT_NE(into, nullptr);
  EXPECT_TRUE(into->active);
  EXPECT_EQ(into->role, Role::kAdmin);
  EXPECT_EQ(into->messages, 2);
  EXPECT_EQ(into->via_code, "poster");
  const Member& old = MemberOf("qq", "u1", dflt->id);
  const Membership* from = s.FindMembership(g->id, old.id);
  EXPECT_FALSE(from->active);
  EXPECT_EQ(from->left_reason, LeaveReason::kMoved);
  // u2 had left: it does not follow.
  EXPECT_EQ(s.FindIdentity(camp->id, "qq", "u2"), nullptr);
  // Now the group's events belong to camp; naming default is refused.
  auto out = Apply(R"({"id":"m3","type":"message","time":"2026-03-01T11:00:00Z","platform":"qq","community":"default","group":"g","member":"u1"})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].outcome, Outcome::kRejected);
}

TEST_F(ShardWriterTest, BindingNeedsAKnownCommunityAndMayComeBeforeTheGroupIsSeen) {
  IngestBatch b = Batch(
      R"({"id":"b0","type":"group_bound","time":"2026-03-01T09:00:00Z","platform":"qq","group":"g","to":"nowhere"})");
  ASSERT_TRUE(b.rejected.empty());
  std::vector<WriteItem> items{{&b.events[0], &b.json[0]}};
  auto out = writer_->ApplyBatch(items);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->outcomes[0].outcome, Outcome::kRejected);
  EXPECT_EQ(out->outcomes[0].error.field(), "to");
  EXPECT_EQ(writer_->state().FindGroupByExternal("qq", "g"), nullptr);

  Apply(R"({"id":"c","type":"message","time":"2026-03-01T07:00:00Z","platform":"qq","community":"camp","group":"other","member":"u9"})"
        "\n"
        R"({"id":"b1","type":"group_bound","time":"2026-03-01T09:00:00Z","platform":"qq","group":"g","to":"camp"})"
        "\n"
        R"({"id":"m1","type":"message","time":"2026-03-01T10:00:00Z","platform":"qq","group":"g","member":"u1"})");
  const State& s = writer_->state();
  EXPECT_EQ(s.FindGroupByExternal("qq", "g")->community_id, s.FindCommunityBySlug("camp")->id);
  EXPECT_EQ(s.FindCommunityBySlug("default"), nullptr);
}

TEST_F(ShardWriterTest, AMigratedGroupKeepsItsHistoryUnderItsNewId) {
  Apply(R"({"id":"m1","type":"message","time":"2026-03-01T08:00:00Z","platform":"telegram","group":"-100","member":"u1"})"
        "\n"
        R"({"id":"migrate:-100","type":"group_migrated","time":"2026-03-01T09:00:00Z","platform":"telegram","group":"-100","to":"-1001"})"
        "\n"
        R"({"id":"migrate:-100#2","type":"group_migrated","time":"2026-03-01T09:00:00Z","platform":"telegram","group":"-100","to":"-1001"})"
        "\n"
        R"({"id":"m2","type":"message","time":"2026-03-01T10:00:00Z","platform":"telegram","group":"-1001","member":"u1"})");
  const State& s = writer_->state();
  EXPECT_EQ(s.FindGroupByExternal("telegram", "-100"), nullptr);
  const Group* g = s.FindGroupByExternal("telegram", "-1001");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->messages, 2);
  EXPECT_EQ(g->member_count, 1);

  // A migration onto a group with its own history is refused: groups are not merged.
  Apply(R"({"id":"x1","type":"message","time":"2026-03-01T08:00:00Z","platform":"telegram","group":"-200","member":"u1"})"
        "\n"
        R"({"id":"x2","type":"message","time":"2026-03-01T08:00:00Z","platform":"telegram","group":"-2001","member":"u1"})");
  IngestBatch b = Batch(
      R"({"id":"migrate:-200","type":"group_migrated","time":"2026-03-01T09:00:00Z","platform":"telegram","group":"-200","to":"-2001"})");
  std::vector<WriteItem> items{{&b.events[0], &b.json[0]}};
  auto out = writer_->ApplyBatch(items);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->outcomes[0].outcome, Outcome::kRejected);
  EXPECT_EQ(out->outcomes[0].error.field(), "to");
}

TEST_F(ShardWriterTest, TheBotsPresenceFollowsItsRemovalAndTheGroupsNextEvent) {
  Apply(R"({"id":"m1","type":"message","time":"2026-03-01T08:00:00Z","platform":"telegram","group":"g","member":"u1"})"
        "\n"
        R"({"id":"r1","type":"bot_removed","time":"2026-03-01T09:00:00Z","platform":"telegram","group":"g","member":"u1"})");
  const State& s = writer_->state();
  EXPECT_EQ(s.FindGroupByExternal("telegram", "g")->bot_left_at,
            ParseRfc3339("2026-03-01T09:00:00Z")->ms);
  Apply(R"({"id":"a1","type":"bot_added","time":"2026-03-02T09:00:00Z","platform":"telegram","group":"g"})");
  EXPECT_EQ(s.FindGroupByExternal("telegram", "g")->bot_left_at, 0);
  Apply(R"({"id":"r2","type":"bot_removed","time":"2026-03-03T09:00:00Z","platform":"telegram","group":"g"})"
        "\n"
        R"({"id":"m2","type":"message","time":"2026-03-03T10:00:00Z","platform":"telegram","group":"g","member":"u1"})");
  EXPECT_EQ(s.FindGroupByExternal("telegram", "g")->bot_left_at, 0);  // it brought a message
}

TEST_F(ShardWriterTest, StateSurvivesReopenExactly) {
  Apply(R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"u2","name":"二","via":{"inviter":"u1"}})"
        "\n"
        R"({"id":"c1","type":"checkin","time":"2026-03-01T09:00:00Z","platform":"qq","group":"g","member":"u2","role":"admin"})"
        "\n"
        R"({"id":"t1","type":"tag_changed","time":"2026-03-02T08:00:00Z","platform":"qq","member":"u2","tag":"kol"})");
  auto live = writer_->state().ToSnapshot();
  writer_.reset();
  store_.reset();
  store_ = testing::OpenStore(dir_.path());
  auto loaded = store_->LoadState();
  ASSERT_TRUE(loaded.ok());
  loaded->last_seq = 0;
  EXPECT_EQ(*loaded, live);
}

}  // namespace
}  // namespace qz
