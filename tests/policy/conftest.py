"""Policy tests run with one torch thread, like the engine tests (tests/prop/conftest.py says why).

Measured: the household test took 168 s with the suite's 2 threads on the busy 2-core machine, 25 s with 1.
"""

from tests.prop.conftest import _one_torch_thread  # noqa: F401 - the shared autouse fixture
