// qunzhu store/sqlite: the schema as an ordered list of migration steps. The version applied to
// a database file is kept in PRAGMA user_version. Internal to the SQLite back end; called by the
// thread that opens the store.
#pragma once

#include <sqlite3.h>

#include <span>
#include <string_view>

#include "core/status.hpp"

namespace qz::sqlite {

struct Migration {
  int version;           // 1, 2, ...: the user_version the database has after this step
  std::string_view sql;  // DDL (and data moves); may hold several statements
};

// Every step in order. Append new steps; never edit or reorder a released one.
std::span<const Migration> Migrations();

// The member search index (schema 10: member_grams, kept by triggers in the writer's
// transaction). SuspendMemberIndex drops its triggers for a bulk load; RestoreMemberIndex, when
// any trigger is missing, refills the index in one sorted pass and recreates them (one
// transaction). Open calls RestoreMemberIndex, so a bulk load that died leaves no stale index.
Status SuspendMemberIndex(sqlite3* db);
Status RestoreMemberIndex(sqlite3* db);

// The version a database has once every step has been applied.
int LatestSchemaVersion();

// Applies the steps `db` has not had yet, each in its own IMMEDIATE transaction together with
// the user_version bump, so a failed step leaves the database at the previous version.
// A database whose version is newer than LatestSchemaVersion() is refused with kUnavailable.
Status Migrate(sqlite3* db);

}  // namespace qz::sqlite
