// qunzhu module `broadcasts` (群发): one message to many groups, now or at a set time: a list of
// groups, every listed group of a type, or the groups where members with a tag are (e.g.
// region:杭州). Each group's send is an outbox action of its own, so delivery spreads them within
// each platform's rate limits and retries each apart. Keeps the table `broadcasts` (what was
// asked, the groups it resolved to, when it was sent and by which event). Its HTTP face
// (routes.hpp) creates them and shows each group's delivery status.
#pragma once

#include <memory>

#include "engine/module.hpp"

namespace qz {

// Commands (payload JSON): "broadcasts.create" {"id", "text": {"zh","en"}, "groups": [..] |
// "group_type" | "tag", "at" (UTC ms; 0: now), "operator"}; "broadcasts.cancel" {"id"} (a
// scheduled one that has not gone out).
std::unique_ptr<Module> MakeBroadcastsModule();

}  // namespace qz
