// qunzhu platform/sandbox: the sandbox's HTTP face, contributed to the server's route table by
// src/app. A simulated member posts, joins, leaves or asks to join (the event is ingested; the
// answer comes once it is durable, so the bot's reaction is decided), the platform gives a
// member a role, and anyone with a token reads a group's conversation, including what the bot
// sent, deleted and muted and the join requests it answered.
#pragma once

#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

class SandboxPlatform;

// GET  /api/v1/sandbox/groups
// GET  /api/v1/sandbox/groups/{group}/messages?after=&limit=
// POST /api/v1/sandbox/groups/{group}/messages  {"member","text"[,"name","community"]}
// POST /api/v1/sandbox/groups/{group}/join      {"member"[,"name","inviter","code","community"]}
// POST /api/v1/sandbox/groups/{group}/leave     {"member"[,"community"]}
// POST /api/v1/sandbox/groups/{group}/request   {"member"[,"text","name","community"]}: a join
//      request (join_request); the bot answers it with answer_join_request
// POST /api/v1/sandbox/groups/{group}/role      {"member","role"}: the platform makes them an
//      owner, admin, assistant or member; no event (a sync_members reports it). Answers
//      {"group","member","role"}
// POST /api/v1/sandbox/direct                   {"member","text"[,"name","community"]}: a private
//      chat with the bot (a message event without a group)
// GET  /api/v1/sandbox/direct/{member}?after=&limit=: that chat, with the bot's direct messages
// The POST routes need the role operator inside the community of the group (the store's group
// of that id on the sandbox platform); for a group the store does not know yet, and for a
// private chat, the caller's base role counts (Scope::kCommunity). Reading needs viewer.
// `sandbox` is borrowed and must outlive the server.
Status AddSandboxRoutes(RouteTable& table, SandboxPlatform& sandbox);

}  // namespace qz
