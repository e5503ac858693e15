// qunzhu module `welcome` (入群欢迎, 社群接待SOP): greets members who join a group with the
// playbook's welcome text, their names and the group's rules, merged into one message when
// several join within a window (30 joins in a minute are one welcome, not 30); follows up with a
// newcomer who has not spoken after a while; sends the onboarding steps at offsets from the join
// (D+1, D+3 …). Owns the playbook section [welcome]; keeps the table `greetings` (per group: when
// the last welcome went out, who is waiting for the next one).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// One [[welcome.steps]] entry: `text` sent `after_s` after the join, to the member directly
// (`to = "member"`, the default) or in the group naming them (`to = "group"`).
struct WelcomeStep {
  int64_t after_s = 0;
  LocalizedText text;
  bool to_group = false;
};

// [welcome]: absent → disabled. `enabled` (default true when the section is present), `text`
// (TEXT template, every variable; required when enabled), `merge_window` (duration, default
// "off": every join is welcomed at once; the presets use "1m"), `max_names` (default 20: a merged welcome names
// at most this many, then "等 N 位新朋友"), `follow_up_after` (duration, default "off") with
// `follow_up` (TEXT, required with it), [[welcome.steps]] with `after` (duration), `text` and
// `to` (member | group).
struct WelcomeConfig : SectionConfig {
  bool enabled = false;
  LocalizedText text;
  int64_t merge_window_s = 0;
  int max_names = 20;
  int64_t follow_up_after_s = 0;
  LocalizedText follow_up;
  std::vector<WelcomeStep> steps;
};

// The names of a merged welcome: "小明、小红" (zh) or "Ming, Hong" (en); past `max_names`,
// "小明、小红 等 30 位新朋友" / "Ming, Hong and 28 more". `names` holds the first ones (at most
// max_names), `count` how many joined.
std::string JoinNames(const std::vector<std::string>& names, int64_t count, int max_names, Language language);

// On member_joined (not staff): the welcome (now, or merged at the end of the window), and the
// follow-up and step timers; on their timers: the follow-up (if the member is still in the group
// and has not spoken since joining) and the steps (if still in the group).
std::unique_ptr<Module> MakeWelcomeModule();

}  // namespace qz
