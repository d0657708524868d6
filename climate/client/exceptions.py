"""The one exception the client library raises for API and usage errors."""


class ClimateClientError(Exception):
    """An error from the reservation API, or a request the client refused to send.

    ``message`` is the API's ``error_message`` (or the client's own explanation) and
    ``status`` the HTTP status code, ``None`` when nothing was sent.
    """

    def __init__(self, message, status=None, request_id=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id

    def __str__(self):
        if self.status:
            return f'{self.message} (HTTP {self.status})'
        return self.message
