#include "app/moderation_labels.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace qz {

Result<int64_t> ExportLabels(Store& store, std::string_view community, std::ostream& out) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, store.ListCommunities());
  CommunityId id = kNoId;
  for (const Community& c : communities) {
    if (c.slug == community) id = c.id;
  }
  if (id == kNoId) return Status::NotFound(fmt::format("no community '{}'", community));
  out << "label\ttext\n";
  int64_t written = 0;
  std::string after;
  while (true) {
    QZ_ASSIGN_OR_RETURN(const std::vector<ModuleStateEntry> rows,
                        store.ListModuleState(id, "moderation.decisions", after, 1000));
    for (const ModuleStateEntry& row : rows) {
      const auto v = nlohmann::json::parse(row.value, nullptr, false);
      if (!v.is_object()) continue;
      const std::string verdict = v.value("verdict", "");
      std::string text = v.value("text", "");
      if ((verdict != "spam" && verdict != "not_spam") || text.empty()) continue;
      for (char& c : text) {
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
      }
      out << (verdict == "spam" ? '1' : '0') << '\t' << text << '\n';
      ++written;
    }
    if (rows.size() < 1000) break;
    after = rows.back().key;
  }
  if (!out) return Status::Unavailable("writing the labels failed");
  return written;
}

}  // namespace qz
