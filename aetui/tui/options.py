"""The lab's display and life-cycle options (its command-line flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aetui.render import default_mode


@dataclass
class LabOptions:
    ascii: bool = False
    slow_link: bool = False
    save_path: Path | None = None
    save_on_quit: bool = True
    # The process may end itself after a hang-up once the run is saved (the command
    # line's lab; never an app run inside another program, such as a test).
    end_after_hangup: bool = False
    graphics: str = "blocks"  # resolved --graphics: pixels | blocks | ascii
    pixel_protocol: str | None = None  # sixel | kitty, when pixels are on offer
    history_mb: float = 200.0  # the history store's cap (README "History")

    @property
    def snapshot_interval(self) -> float:
        return 1.0 if self.slow_link else 0.25

    @property
    def image_interval(self) -> float:
        return 5.0 if self.slow_link else 1.0

    @property
    def plot_interval(self) -> float:
        return 3.0 if self.slow_link else 0.5

    @property
    def levels(self) -> int | None:
        # Few grey levels on a slow link: neighbouring cells share a style, so
        # runs of cells cost one escape sequence.
        return 6 if self.slow_link else None

    def image_mode(self) -> str:
        mode = default_mode(ascii=self.ascii or self.graphics == "ascii")
        if self.slow_link and mode != "ascii":
            return "grey"
        return mode
