"""The live lab: a Textual app that streams training into panels.

Nothing here imports numba: the trainer is built by a factory inside the
worker thread, so the UI is on screen before the kernels compile.
"""
