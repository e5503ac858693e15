// qunzhu modules `courses` and `timelines` (课程日历 and SOP 工作排期): dated posts in the
// community's time zone. `courses` owns [[courses]] (sessions with reminders 7 days, 1 day, 1
// hour before); `timelines` owns [[timelines]] (steps at day offsets from each group's `start`,
// posts or operator tasks). Each keeps one standing timer with an "at" rule per (session,
// reminder, group) or (step, group); neither keeps state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// One [[courses.sessions]] entry.
struct CourseSession {
  LocalizedText title;  // plain TEXT (no variables): named in the reminders
  std::string at;       // local "YYYY-MM-DD HH:MM[:SS]" in the community's time zone
};

// One [[courses]] entry: reminders of its sessions posted to its groups (`group`, `groups` or
// `group_type`, as in [[schedules]]).
struct CourseSettings {
  std::string name;  // unique, [A-Za-z0-9_.-]{1,64}
  std::vector<std::string> groups;  // "platform:id", each once, in playbook order
  std::set<std::string, std::less<>> group_set;
  // Seconds before each session (0: at its start), each once, in playbook order. Counted on the
  // local clock: "7d" before 20:00 is 20:00 seven days earlier, whatever DST does meanwhile.
  std::vector<int64_t> remind;
  LocalizedText remind_text;  // TEXT template (group kind); empty: the built-in reminder
  LocalizedText start_text;   // the post at the start ("0" in remind); empty: the built-in one
  std::vector<CourseSession> sessions;
};

struct CoursesConfig : SectionConfig {
  std::vector<CourseSettings> courses;
  std::map<std::string, size_t, std::less<>> by_name;  // → index in `courses`
};

// One [[timelines.steps]] entry: on day `day` relative to a group's start date (-7: a week
// before, 0: the start date) at local `at`, either `text` posted to the group or `task` opened
// for an operator (a step a person must do, such as 拉群).
struct TimelineStep {
  int day = 0;
  std::string at;      // "HH:MM"
  LocalizedText text;  // TEXT template (group kind), or empty for a task
  std::string task;    // what the operator must do, or empty for a post
};

// One [[timelines]] entry over groups that all have a `start` in [[groups]].
struct TimelineSettings {
  std::string name;  // unique, [A-Za-z0-9_.-]{1,64}
  std::vector<std::string> groups;
  std::set<std::string, std::less<>> group_set;
  std::map<std::string, std::string, std::less<>> starts;  // group → its start "YYYY-MM-DD"
  std::vector<TimelineStep> steps;
};

struct TimelinesConfig : SectionConfig {
  std::vector<TimelineSettings> timelines;
  std::map<std::string, size_t, std::less<>> by_name;
};

// Standing timer names and rules (exposed for tests):
//   courses:   "<course>.<session index>.<offset>@<platform:id>", offset "7d", "1h", "90m",
//              "start"; rule "at <local session time minus the offset>"
//   timelines: "<timeline>.<step index>@<platform:id>"; rule "at <start + day> <at>"
std::string ReminderTag(int64_t seconds_before);
// The local "YYYY-MM-DD HH:MM[:SS]" `seconds` before local `at` (wall-clock arithmetic), or ""
// when `at` is malformed.
std::string LocalMinus(std::string_view at, int64_t seconds);

// On a standing timer's event: posts the reminder (or the step's text) to the timer's group, or
// opens the step's operator task. A course, session, reminder, timeline, step or group removed
// meanwhile does nothing; a firing whose time a reload changed never reaches the module (the
// engine versions timers and refuses a stale firing).
std::unique_ptr<Module> MakeCoursesModule();
std::unique_ptr<Module> MakeTimelinesModule();

}  // namespace qz
