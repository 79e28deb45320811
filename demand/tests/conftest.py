import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every test makes several users; the production hasher's slowness is its point, not this suite's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
