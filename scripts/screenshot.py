"""Export the lab as SVG (docs/screenshot.svg): train for a while, then save the screen.

    python scripts/screenshot.py                          # built-in digits, 120×40
    python scripts/screenshot.py --dataset mnist --data-dir ../shared/mnist --seconds 60

Takes the same model/data options as `aetui`. Runs the real app headless
(Textual's run_test), with the real trainer; `--fake` uses the test suite's
deterministic FakeTrainer instead (no numba, for a quick layout check).

    python scripts/screenshot.py --colours 256 --out docs/lab-256.svg
    python scripts/screenshot.py --graphics pixels --out docs/lab-pixels.png

    python scripts/screenshot.py --layouts --colours 256      # README "Layouts"

`--layouts` writes one PNG per layout (docs/lab-small.png at 80×24,
docs/lab-default.png at 120×40, docs/lab-large.png at 160×48), each from its
own run. `--colours 256` draws with the 256-colour maps (as in tmux without RGB).
A .png output is the screen's cells drawn 10×20 px each; with `--graphics
pixels` the image panels' pictures are pasted where a kitty/sixel terminal
draws them (a headless app has no terminal to draw pixels on).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aetui.commands import common  # noqa: E402

# README "Layouts": one screenshot per layout, at the size that names it.
LAYOUT_SHOTS = (("small", 80, 24), ("default", 120, 40), ("large", 160, 48))


async def shoot(args) -> Path:
    import os

    from aetui.tui.app import LabApp
    from aetui.tui.options import LabOptions

    if args.colours == "256":
        os.environ.pop("COLORTERM", None)  # aetui then picks its 256-colour maps
    elif args.colours == "truecolor":
        os.environ["COLORTERM"] = "truecolor"
    settings, load_path = common.settings_from_args(args)
    pixels = args.graphics == "pixels"
    options = LabOptions(save_on_quit=False, ascii=args.ascii,
                         graphics="pixels" if pixels else "blocks",
                         pixel_protocol="halfcell" if pixels else None)
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
            if app.lab.run.failure is not None:
                raise SystemExit(f"aetui: error: {app.lab.run.failure}")
        for key in args.keys:
            await pilot.press(key)
        await pilot.pause(1.5)  # one image tick after the last snapshot
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".png":
            screen_png(app).save(out)
        else:
            app.save_screenshot(filename=out.name, path=str(out.parent))
        step = app.lab.run.trainer.step if app.lab.run.trainer else 0
        await pilot.press("ctrl+q")
    print(f"wrote {out} (step {step:,})")
    return out


CELL_W, CELL_H = 10, 20  # the cell size aetui assumes when the terminal does not say


# Braille dot n (bit n of the code point's offset) sits at (column, row).
_BRAILLE_DOTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))


def _braille(draw, box, bits: int, fill) -> None:
    for bit, (col, row) in enumerate(_BRAILLE_DOTS):
        if bits >> bit & 1:
            x, y = box[0] + 2 + col * 4, box[1] + 2 + row * 4
            draw.rectangle((x, y, x + 1, y + 1), fill=fill)


def screen_png(app):
    """The screen as a PNG: every cell CELL_W × CELL_H pixels (half blocks exact,
    text in Pillow's font); pixel panels get their real pictures."""
    from PIL import Image, ImageDraw, ImageFont

    from aetui.tui.widgets.image_view import ImageView, frame_for_cells

    strips = app.screen._compositor.render_strips()
    width, height = app.size
    page = Image.new("RGB", (width * CELL_W, height * CELL_H), (0, 0, 0))
    draw = ImageDraw.Draw(page)
    try:  # a monospace font with box-drawing glyphs, where there is one
        font = ImageFont.truetype("DejaVuSansMono.ttf", 15)
    except OSError:
        font = ImageFont.load_default(size=15)

    def rgb(color, default):
        if color is None or color.is_default:
            return default
        t = color.get_truecolor()
        return (t.red, t.green, t.blue)

    for y, strip in enumerate(strips):
        x = 0
        for seg in strip:
            style = seg.style
            fg = rgb(style.color if style else None, (220, 220, 220))
            bg = rgb(style.bgcolor if style else None, (0, 0, 0))
            if style is not None and style.reverse:
                fg, bg = bg, fg
            for ch in seg.text:
                if unicodedata.combining(ch) and x:  # ρ̂, x̃: drawn over the cell before
                    draw.text(((x - 1) * CELL_W, y * CELL_H + 2), ch, fill=fg, font=font)
                    continue
                box = (x * CELL_W, y * CELL_H, (x + 1) * CELL_W - 1, (y + 1) * CELL_H - 1)
                draw.rectangle(box, fill=bg)
                if ch == "▀":
                    draw.rectangle((box[0], box[1], box[2], box[1] + CELL_H // 2 - 1), fill=fg)
                elif ch == "▄":
                    draw.rectangle((box[0], box[1] + CELL_H // 2, box[2], box[3]), fill=fg)
                elif 0x2800 <= ord(ch) <= 0x28FF:  # braille (plots): the font has none
                    _braille(draw, box, ord(ch) - 0x2800, fg)
                elif ch.strip():
                    draw.text((box[0], box[1] + 2), ch, fill=fg, font=font)
                x += 1
    for panel in app.screen.query(ImageView):
        if panel.graphics != "pixels" or panel.pixels is None or not panel.display:
            continue
        region = panel.content_region
        framed = frame_for_cells(panel.pixels, region.width * CELL_W, region.height * CELL_H,
                                 (CELL_W, CELL_H))
        # Where textual-image's stand-in drew blocks, the terminal draws the picture.
        page.paste(Image.fromarray(framed), (region.x * CELL_W, region.y * CELL_H))
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_settings_options(parser)
    parser.add_argument("--seconds", type=float, default=40.0, help="train this long first")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshot.svg"))
    parser.add_argument("--ascii", action="store_true")
    parser.add_argument("--colours", choices=("auto", "256", "truecolor"), default="auto",
                        help="colour mode (auto: as COLORTERM says)")
    parser.add_argument("--graphics", choices=("blocks", "pixels"), default="blocks")
    parser.add_argument("--fake", action="store_true", help="use the tests' FakeTrainer")
    parser.add_argument("--keys", nargs="*", default=[],
                        help="keys to press before the shot (e.g. y for a log loss plot)")
    parser.add_argument("--layouts", action="store_true",
                        help="one PNG per layout into docs/ (small, default, large)")
    args = parser.parse_args()
    if not args.layouts:
        asyncio.run(shoot(args))
        return 0
    for name, width, height in LAYOUT_SHOTS:
        args.width, args.height = width, height
        args.out = str(REPO / "docs" / f"lab-{name}.png")
        asyncio.run(shoot(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
