"""The drawing canvas (aetui/experiments/canvas.py): a soft round pen, keyboard ink and erase."""

import numpy as np

from aetui.experiments.canvas import PEN_RADII, Canvas


def test_pen_dot_is_round_soft_and_bounded():
    c = Canvas()
    c.stroke((14, 14))
    p = c.pixels
    assert p[14, 14] == 1.0 and p.max() <= 1.0 and p.min() >= 0.0
    assert p[14, 14 + 1] == p[14 + 1, 14] == p[14, 14 - 1]  # round: the same in each direction
    # soft edge: some pixels are partly inked
    assert np.any((p > 0) & (p < 1))
    r = PEN_RADII[c.pen]
    far = np.hypot(*np.mgrid[0:28, 0:28] - 14) > r + 1
    assert not p[far].any()


def test_bigger_pen_inks_more_and_sizes_stop_at_the_ends():
    areas = []
    for pen in range(len(PEN_RADII)):
        c = Canvas()
        c.pen = pen
        c.stroke((10, 10))
        areas.append(float(c.pixels.sum()))
    assert areas == sorted(areas) and areas[0] < areas[-1]
    c = Canvas()
    for _ in range(10):
        c.set_pen(1)
    assert c.pen == len(PEN_RADII) - 1
    for _ in range(10):
        c.set_pen(-1)
    assert c.pen == 0


def test_a_drag_leaves_a_continuous_stroke_and_erase_removes_it():
    c = Canvas()
    c.stroke((5, 3), (5, 24))
    assert (c.pixels[5, 3:25] == 1.0).all()
    edits = c.edits
    c.stroke((5, 3), (5, 24), ink=False)
    assert c.edits == edits + 1
    assert np.allclose(c.pixels, 0.0)


def test_keyboard_cursor_inks_erases_and_stays_inside():
    c = Canvas()
    c.move_cursor(-100, 100)
    assert c.cursor == (0, 27)
    c.ink_at_cursor()
    assert c.pixels[0, 27] == 1.0
    c.ink_at_cursor(ink=False)
    assert c.pixels[0, 27] == 0.0
    c.load(np.full(784, 255, np.uint8))
    assert (c.pixels == 1.0).all()
    c.load(np.linspace(-1, 2, 784))
    assert c.pixels.min() == 0.0 and c.pixels.max() == 1.0
    c.clear()
    assert not c.pixels.any()
