"""Errors that reach the user as one clear line (the CLI prints them and exits 2)."""


class UserError(Exception):
    """Bad input or an unusable file: the message is shown as is, without a traceback."""


class ConfigError(UserError):
    """A config or spec file is invalid; the message names the file and the key."""
