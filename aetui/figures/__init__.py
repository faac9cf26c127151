"""Figures written to files: PNG panels (Pillow) and matplotlib plots. The
terminal's drawing lives in aetui/render."""
