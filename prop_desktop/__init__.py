"""PRoP Desktop: personalize a home robot arm while keeping each person's preferences private."""

import os

__version__ = "0.1.0"

# OpenMP worker threads that spin while idle starve everything else on a 2-core machine (training measured
# 44 s instead of 4 s next to other work). Must be set before torch loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
