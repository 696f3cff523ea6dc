"""The test settings, with an ASGI application whose export has problems."""

from tests.settings import *  # noqa: F403

ASGI_APPLICATION = "tests.contract.project.problems_application"
