"""Export the lab as SVG (docs/screenshot.svg): train for a while, then save the screen.

    python scripts/screenshot.py                          # built-in digits, 120×40
    python scripts/screenshot.py --dataset mnist --data-dir ../shared/mnist --seconds 60

Takes the same model/data options as `aetui`. Runs the real app headless
(Textual's run_test), with the real trainer; `--fake` uses the test suite's
deterministic FakeTrainer instead (no numba, for a quick layout check).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aetui.commands import common  # noqa: E402


async def shoot(args) -> Path:
    from aetui.tui.app import LabApp
    from aetui.tui.options import LabOptions

    settings, load_path = common.settings_from_args(args)
    options = LabOptions(save_on_quit=False, ascii=args.ascii)
    if args.fake:
        sys.path.insert(0, str(REPO / "tests"))
        from fake_trainer import make_lab_app

        app = make_lab_app(settings, options=options)
    else:
        app = LabApp(settings, checkpoint_path=load_path, options=options)
    out = Path(args.out)
    async with app.run_test(size=(args.width, args.height)) as pilot:
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            await pilot.pause(0.5)
            if app.failure is not None:
                raise SystemExit(f"aetui: error: {app.failure}")
        for key in args.keys:
            await pilot.press(key)
        await pilot.pause(1.5)  # one image tick after the last snapshot
        out.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=out.name, path=str(out.parent))
        step = app.trainer.step if app.trainer else 0
        await pilot.press("ctrl+q")
    print(f"wrote {out} (step {step:,})")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_settings_options(parser)
    parser.add_argument("--seconds", type=float, default=40.0, help="train this long first")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshot.svg"))
    parser.add_argument("--ascii", action="store_true")
    parser.add_argument("--fake", action="store_true", help="use the tests' FakeTrainer")
    parser.add_argument("--keys", nargs="*", default=[],
                        help="keys to press before the shot (e.g. y for a log loss plot)")
    asyncio.run(shoot(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
