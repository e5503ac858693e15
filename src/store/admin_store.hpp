// qunzhu store: the administration sub-seam. Owns API tokens and the playbooks' source texts:
// small writes that commit on their own, outside the writer's transactions (a playbook can also
// be written inside one, StoreTxn::PutPlaybook).
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"
#include "core/clock.hpp"

namespace qz {

struct StoredPlaybook {
  std::string community;  // slug
  std::string toml;       // the source text, as validated
  TimeMs updated_at = 0;
  friend bool operator==(const StoredPlaybook&, const StoredPlaybook&) = default;
};

struct ApiToken {
  std::string hash;  // SHA-256 hex of the secret; the secret itself is never stored
  std::string name;
  TimeMs created_at = 0;
};

// Thread-safety: any thread. Each write commits on its own and may have to wait for the
// writer's transaction (StoreTxn); a store that makes it wait says how long and fails with
// kUnavailable after that. Reads see only committed data.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Playbooks by community slug (autocommitted). PutPlaybook inserts or replaces by slug;
  // LoadPlaybooks returns all of them ordered by slug (bytewise).
  virtual Status PutPlaybook(const StoredPlaybook& playbook) = 0;
  virtual Result<std::vector<StoredPlaybook>> LoadPlaybooks() = 0;

  // API tokens (their own small autocommitted writes).
  virtual Status PutToken(const ApiToken& token) = 0;
  virtual Result<bool> HasToken(const std::string& hash) = 0;
};

}  // namespace qz
