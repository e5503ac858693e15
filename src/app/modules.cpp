#include "app/modules.hpp"

#include "modules/activity/activity.hpp"
#include "modules/announce/announce.hpp"
#include "modules/answers/answers.hpp"
#include "modules/broadcasts/broadcasts.hpp"
#include "modules/courses/courses.hpp"
#include "modules/example/example.hpp"
#include "modules/invites/invites.hpp"
#include "modules/moderation/moderation.hpp"
#include "modules/roster/roster.hpp"
#include "modules/schedule/schedule.hpp"
#include "modules/verify/verify.hpp"
#include "modules/welcome/welcome.hpp"

namespace qz {

Result<std::unique_ptr<ModuleRegistry>> MakeModuleRegistry() {
  auto registry = std::make_unique<ModuleRegistry>();
  // Moderation first: a message it deletes triggers nothing in the modules after it.
  QZ_RETURN_IF_ERROR(registry->Add(MakeModerationModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeInvitesModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeVerifyModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeWelcomeModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeAnswersModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeScheduleModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeCoursesModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeTimelinesModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeAnnounceModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeBroadcastsModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeRosterModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeActivityModule()));
  QZ_RETURN_IF_ERROR(registry->Add(MakeExampleModule()));
  return registry;
}

}  // namespace qz
