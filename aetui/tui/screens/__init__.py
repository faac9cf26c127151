"""Screens: the lab itself, help, the value prompt, and the too-small message."""
