"""The guided tour: the lecture's steps as chapters, their claims and how they are checked.

No Textual here: `chapters` holds the chapters as data, `measures` the numbers
that decide each claim, `check` the headless runner (`aetui tour --check`).
The lab's tour panel is aetui/tui/tour_panel.py.
"""
