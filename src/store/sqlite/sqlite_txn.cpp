// The SQLite StoreTxn: the writer's transaction on the write connection's cached statements.
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <span>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {
namespace {

class SqliteTxn final : public StoreTxn {
 public:
  SqliteTxn(WriteConn& writer, std::atomic<bool>& open) : writer_(writer), open_(open) {}
  ~SqliteTxn() override {
    sqlite3* db = writer_.db.get();
    if (sqlite3_get_autocommit(db) == 0) {
      // Uncommitted (or a failed commit): undo everything. Should this fail, the connection
      // stays inside the transaction and the next Begin() retries the rollback.
      sqlite3_stmt* rollback = writer_.stmts[kRollbackWrite].get();
      sqlite3_step(rollback);
      sqlite3_reset(rollback);
    }
    open_.store(false, std::memory_order_release);
  }
  SqliteTxn(const SqliteTxn&) = delete;
  SqliteTxn& operator=(const SqliteTxn&) = delete;

  Result<bool> AppendEvent(StoredEvent& event) override {
    if (!failure_.ok() || committed_) [[unlikely]]
      return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAppendEvent].get();
    Binder b(stmt);
    b.Text(event.platform).Text(event.source_id).Int(event.community_id).Int(event.group_id);
    b.Int(event.member_id).Int(static_cast<int64_t>(event.type)).Int(event.time).Text(event.json);
    b.Int(event.member_prev_seq).Int(event.group_prev_seq);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "append event", b.rc());
    if (!step.ok()) [[unlikely]]
      return Poison(step.status());
    if (sqlite3_changes(db) == 0) return false;  // ON CONFLICT DO NOTHING: a duplicate
    event.seq = sqlite3_last_insert_rowid(db);
    return true;
  }

  Status PutCommunity(const Community& c) override {
    return Put(kPutCommunity, c, "put community");
  }
  Status PutGroup(const Group& g) override { return Put(kPutGroup, g, "put group"); }
  Status PutMember(const Member& m) override { return Put(kPutMember, m, "put member"); }
  Status PutIdentity(const Identity& i) override { return Put(kPutIdentity, i, "put identity"); }
  Status PutMembership(const Membership& m) override {
    return Put(kPutMembership, m, "put membership");
  }
  Status PutMemberName(const MemberName& n) override { return Put(kPutName, n, "put member name"); }
  Status PutTag(const MemberTag& t) override { return Put(kPutTag, t, "put tag"); }

  Status DeleteTag(MemberId member_id, const std::string& tag) override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[kDeleteTag].get();
    Binder b(stmt);
    b.Int(member_id).Text(tag);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, "delete tag", b.rc());
    if (!step.ok()) return Poison(step.status());
    return Status::Ok();
  }

  Status AddAction(OutboxRecord& record) override {
    if (!failure_.ok() || committed_) return Unusable();
    const Action& a = record.action;
    // Checked here because a row with an out-of-range value could not be read back, and would
    // fail every LoadOpenActions after it.
    if (static_cast<int>(a.type) < 1 || static_cast<int>(a.type) > kActionTypeCount) {
      return Poison(Status::Invalid("sqlite: add action: unknown action type", "type"));
    }
    if (!ValidStatus(record.status)) {
      return Poison(Status::Invalid("sqlite: add action: unknown action status", "status"));
    }
    const std::string payload = ActionToJson(a);
    if (!a.payload.empty()) {
      // Only the timer payload (embedded as JSON) can make the document unreadable.
      if (auto back = ActionFromJson(payload); !back.ok()) {
        return Poison(Status::Invalid(
            fmt::format("sqlite: add action: the payload must be a JSON object ({})",
                        back.status().ToString()),
            "payload"));
      }
    }
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAddAction].get();
    Binder b(stmt);
    b.Int(a.community_id).Int(a.group_id).Text(a.platform).Int(static_cast<int64_t>(a.type));
    b.Int(static_cast<int64_t>(record.status)).Int(record.attempts).Int(record.next_attempt_at);
    b.Text(record.last_error).Text(record.platform_ref).Text(record.idempotency_key).Text(payload);
    b.Int(record.created_at).Int(record.updated_at);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "add action", b.rc());
    if (!step.ok()) {
      // The only UNIQUE constraint of the outbox besides the (assigned) id.
      if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE) {
        return Poison(Status(Code::kAlreadyExists,
                             fmt::format("sqlite: add action: idempotency key \"{}\" is already "
                                         "in the outbox",
                                         record.idempotency_key)));
      }
      return Poison(step.status());
    }
    record.id = sqlite3_last_insert_rowid(db);
    ++added_[static_cast<size_t>(record.status)];
    return Status::Ok();
  }

  Status UpdateActions(std::span<const OutboxUpdate> updates,
                       std::vector<int64_t>& missing) override {
    if (!failure_.ok() || committed_) return Unusable();
    for (const OutboxUpdate& u : updates) {
      if (!ValidStatus(u.status)) {
        return Status::Invalid(
            fmt::format("sqlite: update actions: unknown status for outbox record {}", u.id),
            "status");
      }
    }
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kUpdateAction].get();
    for (const OutboxUpdate& u : updates) {
      Binder b(stmt);
      b.Int(static_cast<int64_t>(u.status)).Int(u.attempts).Int(u.next_attempt_at);
      b.Text(u.last_error).Text(u.platform_ref).Int(u.updated_at).Int(u.id);
      ResetOnExit reset(stmt);
      auto step = sqlite::Step(db, stmt, "update action", b.rc());
      if (!step.ok()) return Poison(step.status());
      if (sqlite3_changes(db) == 0) missing.push_back(u.id);
    }
    return Status::Ok();
  }

  Status AddTask(OperatorTask& task) override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAddTask].get();
    Binder b(stmt);
    BindRow(b, task);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "add task", b.rc());
    if (!step.ok()) return Poison(step.status());
    task.id = sqlite3_last_insert_rowid(db);
    return Status::Ok();
  }

  Status PutTimer(TimerRecord& timer) override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kPutTimer].get();
    Binder b(stmt);
    BindRow(b, timer);
    ResetOnExit reset(stmt);
    auto row = sqlite::Step(db, stmt, "put timer", b.rc());
    if (!row.ok()) return Poison(row.status());
    if (!*row) return Poison(Status::Internal("sqlite: put timer: no id returned"));
    RowReader returned(stmt);
    const int64_t id = returned.Int();
    const int64_t version = returned.Int();
    // The upsert is done by the first step; this one ends the statement.
    auto done = sqlite::Step(db, stmt, "put timer");
    if (!done.ok()) return Poison(done.status());
    timer.id = id;
    timer.version = version;
    return Status::Ok();
  }

  Status PutModuleState(const ModuleStateEntry& entry) override {
    if (!entry.value.empty()) return Put(kPutModuleState, entry, "put module state");
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[kDeleteModuleState].get();
    Binder b(stmt);
    b.Int(entry.community_id).Text(entry.module).Text(entry.key);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, "delete module state", b.rc());
    if (!step.ok()) return Poison(step.status());
    return Status::Ok();
  }

  Status PutPlaybook(const StoredPlaybook& playbook) override {
    return Put(kPutPlaybookInTxn, playbook, "put playbook");
  }

  Status Commit() override {
    if (!failure_.ok() || committed_) return Unusable();
    QZ_RETURN_IF_ERROR(CountAddedActions());
    sqlite3_stmt* stmt = writer_.stmts[kCommitWrite].get();
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, "commit");
    if (!step.ok()) return Poison(step.status());
    committed_ = true;
    return Status::Ok();
  }

 private:
  // outbox_counts for the actions this transaction added (schema 13: no per-row trigger).
  Status CountAddedActions() {
    sqlite3_stmt* stmt = writer_.stmts[kCountAddedActions].get();
    for (size_t status = 0; status < added_.size(); ++status) {
      if (added_[status] == 0) continue;
      Binder b(stmt);
      b.Int(added_[status]).Int(static_cast<int64_t>(status));
      ResetOnExit reset(stmt);
      auto step = sqlite::Step(writer_.db.get(), stmt, "count added actions", b.rc());
      if (!step.ok()) return Poison(step.status());
    }
    added_ = {};
    return Status::Ok();
  }

  template <typename T>
  Status Put(WriteStmt which, const T& value, std::string_view what) {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[which].get();
    Binder b(stmt);
    BindRow(b, value);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, what, b.rc());
    if (!step.ok()) return Poison(step.status());
    return Status::Ok();
  }

  Status Unusable() const {
    if (!failure_.ok()) return failure_;
    return Status::Internal("sqlite: the transaction was already committed");
  }
  Status Poison(Status failure) {
    failure_ = failure;
    return failure;
  }

  WriteConn& writer_;
  std::atomic<bool>& open_;
  Status failure_;  // the first failure; once set, every call returns it
  bool committed_ = false;
  std::array<int64_t, kActionStatusCount> added_{};  // outbox rows added, by status
};

}  // namespace

std::unique_ptr<StoreTxn> NewTxn(WriteConn& writer, std::atomic<bool>& open) {
  return std::make_unique<SqliteTxn>(writer, open);
}

}  // namespace qz::sqlite
