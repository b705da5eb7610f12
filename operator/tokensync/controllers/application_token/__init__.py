"""The ApplicationToken controller: from the custom resource to a fresh Secret.

One sync, in order (controller.py): is a read due (refresh_plan.read_due)? -> which cloud access
may this resource use (access_resolver)? -> ObtainApplicationToken, and Extend or Rotate when
renewal_policy says one is due (issuing.py, token_renewal) -> the Secret (target_writer), the
workloads to restart (rollout), status, readiness and Events (reporting.py) -> replaced tokens to
retire (retirement.py) -> when to look again (refresh_plan). A deleted resource retires what it
made (deletion.py). Which resource holds which token is claims.py; what every part shares, and
the watch intake, base.py (on synced_resource).
"""

from .base import APPLICATION_TOKENS, refresh_policy, status_secret
from .controller import ApplicationTokenController

__all__ = ["APPLICATION_TOKENS", "ApplicationTokenController", "refresh_policy", "status_secret"]
