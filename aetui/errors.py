"""Errors a user can cause: the command line prints them as one line and exits 2."""


class AetuiError(Exception):
    """A problem with the user's input (a value, a file, the data) -- never a bug.

    The message is one line, complete on its own: what is wrong and with what.
    """


class ConfigError(AetuiError):
    """A setting has a bad value; `option` names it as the command line spells it."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


class DataError(AetuiError):
    """A data file is missing, corrupt or not what it claims to be."""


class CheckpointError(AetuiError):
    """A checkpoint file cannot be read, or does not fit the model asked for."""
