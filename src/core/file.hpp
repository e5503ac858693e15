// qunzhu core: writing a small file whole or not at all (a model, a polling offset).
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"

namespace qz {

// Writes `bytes` to `path` through a temporary file in the same directory, fsynced and renamed
// over `path` (created with `mode`), so a reader, or the next start after a crash, sees the old
// content or the new one, never a torn file. kUnavailable naming the path otherwise.
Status WriteFileAtomically(const std::string& path, std::string_view bytes, int mode = 0644);

}  // namespace qz
