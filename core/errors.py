"""One error type for user mistakes; the CLI turns it into exit status 2 and one line on stderr."""


class UserError(Exception):
    """A mistake in what the user asked for (unknown id, bad value, missing or corrupt file).

    The message is one line that names the problem; it is shown as-is, without a traceback.
    """
