"""The one exception type a user can cause."""


class LpmError(Exception):
    """An error caused by user input or the user's environment.

    The message is one sentence that says what was wrong and what to do. The CLI prints
    it on one line and exits with code 2, without a traceback.
    """
