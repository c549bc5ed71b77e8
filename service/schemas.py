"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Sku = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z0-9][A-Z0-9-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku = Field(description="Upper-case letters, digits and dashes; unique")
    name: Name
    description: str | None = Field(default=None, max_length=10_000)
    quantity: int = Field(default=0, ge=0, le=1_000_000_000)


class ItemUpdate(BaseModel):
    """Partial update: fields left out are not changed."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=10_000)
    quantity: int | None = Field(default=None, ge=0, le=1_000_000_000)

    @field_validator("name", "quantity")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: leaving a field out is fine, sending null is not.
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str | None
    quantity: int
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    limit: int
    offset: int
