// Admin::activity_metrics (pgqrs/activity.h): the backend's bounded aggregate at the store's
// clock.
#include "core/store_state.h"
#include "pgqrs/admin.h"

namespace pgqrs {

ActivityMetrics Admin::activity_metrics() const {
  auto& state = *StoreAccess::state(store_);
  return state.backend->activity_metrics(state.now());
}

}  // namespace pgqrs
