"""The trainer's start: compiling the kernels, and the quick start that trains on the
reference path (aetui/engine/reference.py, numpy) while they compile in the background,
switching to them at a step boundary (README, "Start-up"). A replay or a resumed run
takes its first `reference_steps` updates on the reference path again, so its bits are
the run's."""

from __future__ import annotations

import threading

from aetui.config import Settings
from aetui.engine import engine
from aetui.training.snapshots import COMPILING


class QuickStartMixin:
    """Part of Trainer: where its updates run (reference path or kernels) and when the
    kernels are compiled."""

    def _init_quick_start(self) -> None:
        # Steps before _reference_until run in numpy (a replay's recorded switch); a
        # quick start runs there, live, until the kernels compiling in the background
        # are ready.
        self._reference_until = 0
        self._reference_fixed = False
        self._live_reference = False
        self._compile_thread: threading.Thread | None = None
        self._compile_error: BaseException | None = None

    @property
    def reference_steps(self) -> int:
        """The updates this run trained on the reference path (its first ones)."""
        return self.step if self._live_reference else min(self._reference_until, self.step)

    def start_on_reference(self) -> None:
        """Quick start (the lab): a fresh run trains on the reference path while the
        kernels compile in the background (warm_up returns at once), and switches to
        them at the first step boundary after. Call before run()."""
        if (not self._compiled and self.step == 0 and not self._reference_fixed
                and self.noise_stream == engine.STREAM_COUNTER):
            self._live_reference = True

    def _on_reference(self) -> bool:
        """Whether the next update runs on the reference path; a live quick start ends
        here, for good, once the kernels are ready (or for L-BFGS, which needs them)."""
        if self.step < self._reference_until:
            return True
        if not self._live_reference:
            return False
        if not self._compiled and self._applied.optimizer != "lbfgs":
            return True
        self._live_reference = False
        self._reference_until = self.step
        return False

    def _numpy_only(self) -> bool:
        """Whether numba must not be called now (the kernels compile in the background)."""
        return self._live_reference and not self._compiled

    def _await_kernels(self) -> None:
        """Block until the kernels are compiled (the background compile, or warm_up now)."""
        if self._compiled:
            return
        if self._compile_thread is None:
            self.warm_up()
            return
        previous = self.state
        self.state = COMPILING
        self._publish()
        self._compile_thread.join()
        if self._compile_error is not None:
            raise self._compile_error
        self.state = previous

    def _compile_in_background(self) -> None:
        try:
            self._compile_kernels()
            self._compiled = True
        except BaseException as exc:  # raised on the trainer thread (_await_kernels)
            self._compile_error = exc

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel, on tiny arrays of the real
        types; on a quick start (start_on_reference), in a background thread."""
        if self._compiled:
            return
        if self.threads is not None:
            engine.use_threads(self.threads)
        if self._live_reference:
            if self._compile_thread is None:
                self._compile_thread = threading.Thread(
                    target=self._compile_in_background, name="aetui-compile", daemon=True)
                self._compile_thread.start()
            return
        previous = self.state
        self.state = COMPILING
        self._publish()
        self._compile_kernels()
        self._compiled = True
        self.state = previous

    def _compile_kernels(self) -> None:
        # Drive tiny trainers through the very calls that training makes, so the
        # argument types (and so the compiled signatures) are the real ones.
        tiny_images = self.images[:2]
        for tied in (True, False):
            tiny = type(self)(Settings(hidden=2, tied=tied, batch=2), tiny_images,
                              tiny_images, val_count=2, display_count=1, threads=None)
            tiny._compiled = True  # it drives the compile: nothing to wait for
            tiny._train_chunk(1, tiny._workspace(2))
            tiny._evaluate()
            tiny.snapshot()
