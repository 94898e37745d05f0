import os

from hypothesis import settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Property tests draw the same examples on every run, so that a run on CI or a fresh clone is
# reproducible (a random draw can land on a case where a central difference is at its noise
# floor). HYPOTHESIS_PROFILE=explore draws new examples, to look for cases the fixed ones miss.
settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
