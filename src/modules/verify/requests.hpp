// qunzhu module `verify`, internal: join requests (入群审核) to the groups verify covers, and the
// approvals by pass phrase that spare an applicant the verification after joining. For
// verify.cpp only; the contract is with MakeVerifyModule in verify.hpp.
#pragma once

#include <cstdint>
#include <string_view>

#include "modules/verify/verify.hpp"

namespace qz::verify {

// A join_request: answered when `config` verifies its group (see MakeVerifyModule).
Status OnJoinRequest(ModuleContext& ctx, const VerifyConfig& config);

// On member_joined at `time`: true when a pass phrase approved this member's request to this
// group at most kVerifyApprovalValidMs before. The approval is used up either way (erased).
bool TakeApproval(ModuleContext& ctx, int64_t group, int64_t member, int64_t time);

// Whether `key` is an approval's timer ("a:<group>:<member>"); if so, forgets that approval
// when it was never used and has lapsed.
bool OnApprovalTimer(ModuleContext& ctx, std::string_view key);

}  // namespace qz::verify
