"""The lab's files: saving, loading and replacing the run, the screen's SVG, the lab
string and the export bundle (README "Share and replay"). A mixin of the lab
screen (lab.py); the run itself (aetui/training/run.py) writes the checkpoints.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aetui.errors import AetuiError
from aetui.files import working_folder
from aetui.training.run import save_problem
from aetui.tui.saving import export_screen, latest_checkpoint
from aetui.tui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from aetui.training.run import LabRun
    from aetui.tui.options import LabOptions


class LabFiles:
    """Save, load, replace and share the run of the lab screen this is mixed into."""

    run: LabRun
    options: LabOptions

    async def save_run(self) -> tuple[Path, str | None]:
        """Write the run's checkpoint off the UI thread (LabRun.save): the path written
        and a note when it is not the target; raises AetuiError when nothing could be
        written."""
        return await asyncio.to_thread(self.run.save)

    async def replace_run(self, path: Path, settings) -> None:
        """Load checkpoint `path` in place of the current run, saving that run first;
        when it cannot be saved, nothing is replaced."""
        if self.run.trainer is not None and self.options.save_on_quit:
            try:
                saved, note = await self.save_run()
            except AetuiError as exc:
                self.app.notify(f"{exc} — not loading {path}", severity="error", timeout=15)
                return
            self.app.notify(note or f"saved the current run to {saved}", timeout=5)
            if not self.run.save_path_given:
                self.run.save_path = None  # the loaded run gets a name of its own
        self.app.notify(f"loading {path}", timeout=3)
        await self.restart_from(path, settings)

    def quit_problem(self, by_signal: bool) -> str | None:
        """Why quitting now would lose the run (nothing can be saved), or None."""
        if not self.options.save_on_quit or self.run.trainer is None or by_signal:
            return None
        return save_problem(self.run.save_target())

    async def end_run(self) -> Path | None:
        """Stop training and, unless told not to, save: the path written, or None (a
        failure to save becomes the run's failure)."""
        await self.stop_training()
        if not (self.options.save_on_quit and self.run.trainer is not None
                and self.run.failure is None):
            return None
        try:
            path, note = await self.save_run()
        except AetuiError as exc:
            self.run.fail(exc)
            return None
        if note:
            self.report(note)
        return path

    async def action_save(self) -> None:
        if self.trainer is None:
            self.app.notify("nothing to save yet", timeout=2)
            return
        try:
            path, note = await self.save_run()
        except AetuiError as exc:
            self.app.notify(f"save failed: {exc}", severity="error")
            return
        self.app.notify(note or f"saved {path}", timeout=5)

    def action_load(self) -> None:
        from aetui.paths import checkpoint_dir

        latest = latest_checkpoint(checkpoint_dir())
        self.app.push_screen(
            PromptScreen("load a checkpoint", "path to a .npz checkpoint (training restarts "
                         "from it; the current run is saved first)", _validate_checkpoint,
                         value=str(latest) if latest else ""),
            self._load_checkpoint)

    async def _load_checkpoint(self, result) -> None:
        if result:
            path, settings = result
            await self.replace_run(path, settings)

    def action_export_svg(self) -> None:
        name = f"aetui-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        try:
            path = export_screen(self.app.save_screenshot, name, working_folder())
        except AetuiError as exc:
            self.app.notify(f"screen not saved: {exc}", severity="error")
            return
        self.app.notify(f"screen saved to {path}", timeout=5)

    # -- sharing: the lab string and the export bundle (README "Share and replay") ------
    def _string_source(self):
        """The running trainer if it can describe its run, else None (with a notice)."""
        trainer = self.trainer
        if trainer is None:
            self.app.notify("no run to describe yet: wait for training to start", timeout=3)
            return None
        return trainer

    async def action_lab_string(self) -> None:
        trainer = self._string_source()
        if trainer is None:
            return
        try:
            text = await asyncio.to_thread(trainer.lab_string)  # hashes the data once
        except (AetuiError, TypeError, ValueError) as exc:  # a hand-edited knob log
            self.app.notify(f"no lab string for this run: {exc}", severity="error")
            return
        self.last_lab_string = text
        # OSC 52: the terminal puts it on the clipboard if it allows (tmux: set-clipboard on).
        self.app.copy_to_clipboard(text)
        self.app.notify(text, title="lab string (copied where the terminal allows OSC 52)",
                        timeout=30)

    async def action_export_bundle(self) -> None:
        trainer = self._string_source()
        if trainer is None or not self.run.arrays:
            return
        from aetui.experiments.export import bundle_folder, write_bundle

        svg = self.app.export_screenshot()
        test_x = self.run.arrays[2]
        try:
            # The working folder may be gone: then the data folder (never a crash).
            folder = bundle_folder(f"aetui-export-{time.strftime('%Y%m%d-%H%M%S')}")
            path = await asyncio.to_thread(
                lambda: write_bundle(folder, trainer.checkpoint(), test_x, svg=svg,
                                     val_count=trainer.val_count))
        except (OSError, AetuiError) as exc:
            self.app.notify(f"export failed: {exc}", severity="error")
            return
        self.last_export = path
        self.app.notify(f"exported to {path}", title="export", timeout=10)



def _validate_checkpoint(text: str) -> tuple[Any, str | None]:
    """(path, its settings) for a readable checkpoint, else an error for the prompt."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        return None, "type a path"
    if not path.is_file():
        return None, f"no such file: {path}"
    try:
        from aetui.training.checkpoint import load_checkpoint

        # The whole file is checked now: a run is never replaced by one that fails.
        settings = load_checkpoint(path).settings
    except (AetuiError, ImportError, OSError, ValueError) as exc:
        return None, f"not a checkpoint: {exc}"
    return (path, settings), None
