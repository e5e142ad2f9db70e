"""Keeping the cyclic garbage collector off a service process's startup heap.

A service process builds its long-lived objects at startup (modules, the web app and its routes, templates,
compiled statements: about 200,000 objects for `listener serve`) and keeps them until it exits. Python's
full collections walk every tracked object all the same. Measured at 1,000,000 posts under the queue
benchmark's load, each pre-fork web process ran one full collection of 170-190 ms in the middle of the load:
its inherited heap was walked and, because the walk writes into every object's header, copied page by page
away from the parent (copy-on-write). Every request of that process waited for it.

`settle()` collects once and then freezes (`gc.freeze`): what is alive then moves to a permanent generation
that later collections skip. The pre-fork supervisor settles before each fork, so children inherit a frozen
heap; every service process settles once it is up, so the objects made while starting are frozen too. What
a request makes is collected as before. The cost is that garbage cycles among the frozen objects are never
freed, which the collection just before the freeze keeps to nothing.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect, then move every object alive now out of the collector's sight."""
    gc.collect()
    gc.freeze()
