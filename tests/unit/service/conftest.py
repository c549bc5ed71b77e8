from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service import migrate
from service.app import create_app
from service.settings import Settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, app_version="1.2.3", deployment_id="d-TEST12345")


@pytest.fixture
def migrated_settings(settings: Settings) -> Settings:
    migrate.upgrade(settings)
    return settings


@pytest.fixture
def client(migrated_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(migrated_settings)) as test_client:
        yield test_client
