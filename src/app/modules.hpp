// qunzhu app: the one list of the modules every node runs, in order.
#pragma once

#include <memory>

#include "engine/module_registry.hpp"

namespace qz {

// The registry of every module, in the order they see each event (moderation first once it
// exists, so a message it deletes triggers nothing else). Adding a module is one line here.
Result<std::unique_ptr<ModuleRegistry>> MakeModuleRegistry();

}  // namespace qz
