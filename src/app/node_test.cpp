// Node: playbooks are validated completely before anything is stored, and a stored playbook that
// no longer validates does not stop the node.
#include "app/node.hpp"

#include <gtest/gtest.h>

#include "engine/test_util.hpp"

namespace qz {
namespace {

constexpr std::string_view kGood = R"toml(
[community]
slug = "camp"
[welcome]
text = "欢迎 {member.name}"
)toml";

NodeOptions Options(const std::string& dir, const Clock& clock) {
  NodeOptions o;
  o.data_dir = dir;
  o.sync = SyncMode::kNormal;
  o.clock = &clock;
  o.background = false;
  return o;
}

TEST(Node, ARejectedPlaybookChangesNothing) {
  testing::TempDir dir;
  ManualClock clock(1772323200000);
  {
    auto node = Node::Open(Options(dir.path(), clock));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    // An unknown time zone is refused before anything is stored or applied.
    std::string bad(kGood);
    bad.insert(bad.find("\n[welcome]"), "\ntime_zone = \"Asia/Atlantis\"");
    const Status st = (*node)->ApplyPlaybook(bad, "camp.toml");
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_EQ(st.field(), "community.time_zone");
    EXPECT_NE(st.message().find("unknown time zone \"Asia/Atlantis\""), std::string::npos)
        << st.message();
    auto stored = (*node)->store().LoadPlaybooks();
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(stored->empty());
    EXPECT_TRUE((*node)->ingest().playbooks()->all().empty());
    // So is a schedule whose rule cannot run.
    EXPECT_FALSE((*node)
                     ->ApplyPlaybook("[community]\nslug = \"camp\"\n[[schedules]]\nname = \"m\"\n"
                                     "rule = \"daily 25:61\"\ngroup = \"sandbox:g\"\ntext = \"t\"\n",
                                     "camp.toml")
                     .ok());
    EXPECT_TRUE((*node)->store().LoadPlaybooks()->empty());
    ASSERT_TRUE((*node)->ApplyPlaybook(kGood, "camp.toml").ok());
    EXPECT_EQ((*node)->store().LoadPlaybooks()->size(), 1u);
  }
  // The node starts again with the stored playbook.
  auto again = Node::Open(Options(dir.path(), clock));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->ingest().playbooks()->all().count("camp"), 1u);
}

TEST(Node, AStoredPlaybookThatNoLongerValidatesDoesNotStopTheNode) {
  testing::TempDir dir;
  ManualClock clock(1772323200000);
  {
    auto store = testing::OpenStore(dir.path());
    // As after an upgrade that dropped a section: the stored text no longer validates.
    ASSERT_TRUE(store->PutPlaybook({"camp", "[community]\nslug = \"camp\"\n[retired]\nx = 1\n", 1})
                    .ok());
    ASSERT_TRUE(store->PutPlaybook({"ok", "[community]\nslug = \"ok\"\n", 1}).ok());
  }
  auto node = Node::Open(Options(dir.path(), clock));
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  // The other community's playbook is in force; the broken one is kept as stored, not applied,
  // and an operator task says so.
  EXPECT_EQ((*node)->ingest().playbooks()->all().count("ok"), 1u);
  EXPECT_EQ((*node)->ingest().playbooks()->all().count("camp"), 0u);
  auto stored = (*node)->store().LoadPlaybooks();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 2u);
  auto tasks = (*node)->store().ListTasks({.open_only = true});
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].kind, "playbook_invalid");
  EXPECT_NE((*tasks)[0].reason.find("retired"), std::string::npos) << (*tasks)[0].reason;
  // Replacing it fixes the community.
  ASSERT_TRUE((*node)->ApplyPlaybook("[community]\nslug = \"camp\"\n", "fixed.toml").ok());
  EXPECT_EQ((*node)->ingest().playbooks()->all().count("camp"), 1u);
}

}  // namespace
}  // namespace qz
