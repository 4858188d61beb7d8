"""Errors a user can fix: the command says what to fix, on one line, and exits with code 2."""


class UserError(Exception):
    """A mistake in a config, a command or an input path; its message says what to fix."""


class InputNotFound(UserError, FileNotFoundError):
    """A file or glob the config names does not exist or matches nothing."""
