#include "platform/adapter.hpp"

#include <fmt/format.h>

#include <future>
#include <utility>

#include "core/toml_reader.hpp"

namespace qz {

std::string WebhookRequest::Header(std::string_view lower_case_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_case_name) return v;
  }
  return {};
}

SinkResult EventSink::SubmitAndWait(std::vector<Event> events) {
  std::promise<SinkResult> promise;
  std::future<SinkResult> future = promise.get_future();
  Submit(std::move(events), [&promise](SinkResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

RateLimits ReadRateLimits(TableReader& section, RateLimits defaults) {
  const toml::table* table = section.Table("rate_limits");
  if (table == nullptr) return defaults;
  TableReader limits(*table, section.PathOf("rate_limits"), section.problems());
  // A million a second is no limit any platform has; the bound catches a unit mistake.
  constexpr double kMax = 1e6;
  limits.Double("per_second", defaults.per_second, 0, kMax);
  limits.Double("per_chat_per_second", defaults.per_chat_per_second, 0, kMax);
  limits.Double("per_chat_per_minute", defaults.per_chat_per_minute, 0, kMax);
  limits.Done();
  return defaults;
}

Status PlatformRegistry::Add(std::unique_ptr<AdapterFactory> factory) {
  std::string name(factory->platform());
  if (factories_.contains(name)) {
    return Status::Invalid(fmt::format("a factory for platform {} is registered already", name),
                           "platform");
  }
  factories_.emplace(std::move(name), std::move(factory));
  return Status::Ok();
}

const AdapterFactory* PlatformRegistry::Find(std::string_view platform) const {
  auto it = factories_.find(platform);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> PlatformRegistry::platforms() const {
  std::vector<std::string> names;
  names.reserve(factories_.size());
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

std::vector<std::unique_ptr<PlatformAdapter>> PlatformRegistry::CreateAll(
    TableReader& platforms, const AdapterEnv& env) const {
  const size_t problems_before = platforms.problems().size();
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  for (auto&& [key, node] : platforms.table()) {
    const std::string name(key.str());
    const toml::table* table = platforms.Table(name);  // marks the key as known
    if (table == nullptr) continue;                    // not a table: reported
    const AdapterFactory* factory = Find(name);
    if (factory == nullptr) {
      std::string known;
      for (const auto& [n, f] : factories_) known += known.empty() ? n : fmt::format(", {}", n);
      platforms.Invalid(name, fmt::format("no adapter for platform '{}' in this build (known: {})",
                                          Excerpt(name, 40), known.empty() ? "none" : known));
      continue;
    }
    TableReader section(*table, platforms.PathOf(name), platforms.problems());
    std::unique_ptr<PlatformAdapter> adapter = factory->Create(section, env);
    section.Done();
    if (adapter != nullptr) adapters.push_back(std::move(adapter));
  }
  if (platforms.problems().size() != problems_before) adapters.clear();
  return adapters;
}

}  // namespace qz
