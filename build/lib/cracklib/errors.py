"""The project's error type: a user's mistake, told in one line."""

__all__ = ["CrackInputError"]


class CrackInputError(ValueError):
    """A user error: bad file, bad option, mismatched pair. Its message is one line.

    The CLI prints it and exits with code 2; the studio shows it and goes on.
    """
