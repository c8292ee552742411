"""Shared test configuration: Hypothesis profiles."""

import os

from hypothesis import HealthCheck, settings

# CI: reproducible, no deadline (shared 2-core machines are noisy), bounded.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
# Deeper local runs: HYPOTHESIS_PROFILE=deep make test
settings.register_profile(
    "deep", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
