"""aetui: a terminal lab for watching autoencoders learn."""

__version__ = "0.1.0"
