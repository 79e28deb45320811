"""Domain errors shared by every app's services.

Services raise these; the API maps them to HTTP statuses (409 for a conflict) and the HTML
views turn them into form messages. They import nothing from the apps.
"""


class ConflictError(Exception):
    """The request is valid but the current state forbids it: out of stock, illegal state change."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
