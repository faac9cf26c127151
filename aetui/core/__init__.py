"""The core: trains and measures. numpy and numba only -- never Textual."""
