// qunzhu app: `qunzhu moderation export-labels`: the operators' verdicts on moderation decisions
// (undo = not spam, confirm = spam) as a labelled TSV that `qunzhu moderation train` reads, so a
// community's model can be retrained on its own data.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

#include "core/status.hpp"
#include "store/store.hpp"

namespace qz {

// Writes "label<TAB>text" lines (a header first) for every decision of `community` that has a
// verdict; tabs and line breaks in a text become spaces. Returns the number of lines written.
Result<int64_t> ExportLabels(Store& store, std::string_view community, std::ostream& out);

}  // namespace qz
