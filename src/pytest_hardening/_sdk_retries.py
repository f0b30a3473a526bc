"""Virtual retry back-off for the OpenAI and Anthropic SDKs.

Both SDKs sleep between retries in ``_sleep_for_retry`` (``time.sleep`` in sync clients,
``anyio.sleep`` in async ones), honouring ``retry-after``/``retry-after-ms``. Those sleeps are
real even under a frozen clock, so a test of a rate limit with ``retry-after: 20`` would wait
for real. There is no public hook, so while an injector with a clock is started we replace that
one method: it computes the same delay with the SDK's own ``_calculate_retry_timeout`` and moves
the clock instead of sleeping. Without a clock the SDK sleeps as in production. Only SDKs the
app has imported when the injector starts are patched.
Other SDKs made by the same generator (Stainless: groq, cerebras, together and more) share that
base client: any loaded ``<package>._base_client`` module whose ``SyncAPIClient`` and
``AsyncAPIClient`` compute their delay with ``_calculate_retry_timeout`` is patched the same
way (groq 1.x in a trial). Tested with openai 3.51-3.x and anthropic 2.10-2.x.

Earlier releases (openai 1.x, anthropic 0.x) sleep inline in their retry loop, without that
method: their base-client module is handed on (:attr:`VirtualRetrySleep.inline`, which the
library sleep started beside this one reads) to be treated as the app's own back-off is, its
``time.sleep``/``anyio.sleep`` moving the clock by the delay the SDK computed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from ._class_patches import ClassPatches, import_if_loaded
from ._retry_storm import noted
from ._sleep_watch import KnownSleep
from ._virtual_time import ServingThreads, moved

__all__ = ["BASE_CLIENT", "PACKAGES", "SDK_CLIENTS", "VirtualRetrySleep"]

# module -> (sync base client, async base client)
SDK_CLIENTS: dict[str, tuple[str, str]] = {
    "openai._base_client": ("SyncAPIClient", "AsyncAPIClient"),
    "anthropic._base_client": ("SyncAPIClient", "AsyncAPIClient"),
}
#: The SDKs' top-level packages.
PACKAGES = frozenset(module.partition(".")[0] for module in SDK_CLIENTS)
#: The module of a generated SDK's base client, by the end of its name.
BASE_CLIENT = "._base_client"


def _generated(name: str) -> bool:
    """Whether the loaded module ``name`` is a generated SDK's base client (see the module)."""
    module = sys.modules.get(name)
    classes = [getattr(module, cls, None) for cls in ("SyncAPIClient", "AsyncAPIClient")]
    return all(
        isinstance(cls, type) and hasattr(cls, "_calculate_retry_timeout") for cls in classes
    )


class _Clock(Protocol):
    def advance(self, seconds: float) -> None: ...


def _delay(client: Any, retries_taken: int, max_retries: int, options: Any, response: Any) -> float:
    headers = response.headers if response is not None else None
    return float(client._calculate_retry_timeout(max_retries - retries_taken, options, headers))


class VirtualRetrySleep:
    """While started, SDK retry sleeps advance ``clock()`` (when it returns a clock) instead of
    sleeping, in the threads that serve the test (``threads``: see :mod:`._virtual_time`);
    each virtual delay is appended to :attr:`sleeps`."""

    def __init__(
        self,
        clock: Callable[[], _Clock | None],
        threads: ServingThreads | None = None,
        *,
        packages: set[str] | None = None,
    ) -> None:
        self._clock = clock
        #: The top-level packages of the SDKs reached, the generated ones found included
        #: (their sleeps are counted here: a watch of real sleeps leaves them out).
        self.packages = packages if packages is not None else set()
        self.packages.update(PACKAGES)
        self._modules = dict(SDK_CLIENTS)
        self._searched = 0  # len(sys.modules) at the last search for generated SDKs
        self._threads = threads if threads is not None else ServingThreads()
        self.sleeps: list[float] = []
        #: Seconds each back-off took for real (no clock attached).
        self.real_sleeps: list[KnownSleep] = []
        #: Base-client modules of SDK releases that sleep inline (no ``_sleep_for_retry``),
        #: for the caller to make virtual as own back-off (once each).
        self.inline: list[Any] = []
        self._patches = ClassPatches()

    def start(self) -> VirtualRetrySleep:
        """Patch the SDKs imported so far (again: only those not yet patched)."""
        if len(sys.modules) != self._searched:
            self._searched = len(sys.modules)
            for name in list(sys.modules):
                if name.endswith(BASE_CLIENT) and name not in self._modules and _generated(name):
                    self._modules[name] = ("SyncAPIClient", "AsyncAPIClient")
                    self.packages.add(name.partition(".")[0])
        for module_name, class_names in self._modules.items():
            # Never imported here: importing pydantic models under a frozen clock breaks them.
            module = import_if_loaded(module_name)
            if module is None:
                continue
            sync_cls, async_cls = (getattr(module, name, object) for name in class_names)
            # An SDK release without the method keeps its real sleeps (tests pin the versions).
            # Started again for an SDK imported since: one patched before is left as it is.
            if not any(vars(c).get("_sleep_for_retry") for c in (sync_cls, async_cls)):
                if module not in self.inline and (sync_cls, async_cls) != (object, object):
                    self.inline.append(module)
                continue
            sync_sleep = vars(sync_cls).get("_sleep_for_retry")
            if sync_sleep is not None and not self._patches.patched(sync_cls):
                self._patch(sync_cls, self._sync(sync_sleep))
            async_sleep = vars(async_cls).get("_sleep_for_retry")
            if async_sleep is not None and not self._patches.patched(async_cls):
                self._patch(async_cls, self._async(async_sleep))
        return self

    def stop(self) -> None:
        self._patches.undo()

    def _patch(self, cls: Any, replacement: Any) -> None:
        self._patches.patch(cls, "_sleep_for_retry", replacement)

    def _sync(self, original: Any) -> Any:
        def _sleep_for_retry(
            client: Any, *, retries_taken: int, max_retries: int, options: Any, response: Any
        ) -> None:
            # A background thread's retries (a poller's) keep real time: no test waits for them.
            serving = self._threads.serving()
            clock = self._clock() if serving else None
            if clock is not None:
                seconds = _delay(client, retries_taken, max_retries, options, response)
                if moved(clock, seconds, "the SDK's retry back-off (its Retry-After or own delay)"):
                    noted(self.sleeps, seconds)
                    return
                # The clock stopped (a retry still running when the test ended): real time.
            start = time.monotonic()
            original(
                client,
                retries_taken=retries_taken,
                max_retries=max_retries,
                options=options,
                response=response,
            )
            if serving and clock is None:
                self.real_sleeps.append(_slept(client, time.monotonic() - start))

        return _sleep_for_retry

    def _async(self, original: Any) -> Any:
        async def _sleep_for_retry(
            client: Any, *, retries_taken: int, max_retries: int, options: Any, response: Any
        ) -> None:
            # A background thread's or task's retries (a poller's) keep real time: no test
            # waits for them.
            serving = self._threads.serving_task()
            clock = self._clock() if serving else None
            if clock is not None:
                seconds = _delay(client, retries_taken, max_retries, options, response)
                if moved(clock, seconds, "the SDK's retry back-off (its Retry-After or own delay)"):
                    noted(self.sleeps, seconds)
                    import anyio  # the SDKs' own async back-end library

                    await anyio.sleep(0)  # still a checkpoint, as the real sleep was
                    return
            start = time.monotonic()
            await original(
                client,
                retries_taken=retries_taken,
                max_retries=max_retries,
                options=options,
                response=response,
            )
            if serving and clock is None:
                self.real_sleeps.append(_slept(client, time.monotonic() - start))

        return _sleep_for_retry


def _slept(client: Any, seconds: float) -> KnownSleep:
    """``seconds`` of an SDK's back-off, slept for real: named by the SDK's package."""
    return KnownSleep(seconds, type(client).__module__.partition(".")[0])
