"""The input boundaries: every untrusted byte aetui reads goes through one of these
readers, so a limit is stated and enforced once, not per call site (README "Limits and
safety").

- `bounded_json`: JSON with size and nesting limits, checked in linear time;
- `archive`: `.npz` archives with a bound on each array and on the total unpacked size,
  every decoder error turned into one line;
- `images`: image files with explicit pixel limits, Pillow's warnings as messages;
- `counts`: the ceiling of every count option, derived from the memory it needs;
- `patch_data`: the checks that patch data can be whitened at all.
"""
