import pytest

from shops.signals import search_performed


@pytest.fixture
def searches():
    """The keyword arguments of every `search_performed` sent during the test, in order."""
    sent = []

    def listen(sender, **kwargs):
        kwargs.pop("signal", None)
        sent.append(kwargs)

    search_performed.connect(listen, weak=False, dispatch_uid="shops-tests-searches")
    try:
        yield sent
    finally:
        search_performed.disconnect(dispatch_uid="shops-tests-searches")
