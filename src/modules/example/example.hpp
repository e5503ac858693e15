// qunzhu module `example`: the smallest module with everything a module can own, kept as the
// worked example of docs/extending.md. When a member posts the trigger word, the bot replies and
// counts that member's pings (table `pings`). Owns the playbook section [example]; disabled
// unless a playbook enables it.
#pragma once

#include <memory>
#include <string>

#include "engine/module.hpp"

namespace qz {

// [example]: `enabled` (default true when present), `trigger` (default "!ping", 1..64 bytes),
// `reply` (TEXT template, default "pong").
struct ExampleConfig : SectionConfig {
  bool enabled = false;
  std::string trigger = "!ping";
  LocalizedText reply{"pong", "pong"};
};

// One row per member who pinged: how often and when last.
struct Ping {
  static constexpr std::string_view kTable = "pings";
  int64_t member = 0;  // key: the member id
  int64_t count = 0;
  TimeMs last = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("count", count);
    v.Value("last", last);
  }
};

std::unique_ptr<Module> MakeExampleModule();

}  // namespace qz
