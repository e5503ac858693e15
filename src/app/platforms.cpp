#include "app/platforms.hpp"

#include "core/toml_reader.hpp"
#include "platform/onebot/onebot_adapter.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "platform/telegram/telegram_adapter.hpp"

namespace qz {
namespace {
constexpr size_t kMaxConfigBytes = 1 << 20;
}  // namespace

Status RegisterPlatforms(PlatformRegistry& registry) {
  QZ_RETURN_IF_ERROR(registry.Add(MakeSandboxFactory()));
  QZ_RETURN_IF_ERROR(registry.Add(MakeTelegramFactory()));
  QZ_RETURN_IF_ERROR(registry.Add(MakeOneBotFactory()));
  return Status::Ok();
}

Result<std::vector<std::unique_ptr<PlatformAdapter>>> CreateAdapters(std::string_view toml,
                                                                     std::string_view source,
                                                                     const AdapterEnv& env,
                                                                     bool only_platforms) {
  PlatformRegistry registry;
  QZ_RETURN_IF_ERROR(RegisterPlatforms(registry));
  auto doc = ParseToml(toml, source, kMaxConfigBytes);
  if (!doc.ok()) return doc.status();
  ConfigProblems problems{std::string(source)};
  TableReader root(*doc, "", problems);
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  if (const toml::table* platforms = root.Table("platforms")) {
    TableReader reader(*platforms, "platforms", problems);
    adapters = registry.CreateAll(reader, env);
    reader.Done();
  }
  if (only_platforms) {
    for (auto&& [key, node] : *doc) root.Skip(key.str());
  }
  root.Done();
  QZ_RETURN_IF_ERROR(problems.ToStatus());
  return adapters;
}

}  // namespace qz
