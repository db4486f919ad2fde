"""Making live systems match the registry: desired state, drift, the plan and its rendering
(pure), observing and applying through targets, and `session`, the use cases every caller
shares."""
