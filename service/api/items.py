"""CRUD for items. Sync routes: SQLAlchemy's sync engine blocks, so FastAPI runs them in its thread pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db import iter_session
from service.models import Item
from service.schemas import ItemCreate, ItemPage, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])


def get_session(request: Request) -> Iterator[Session]:
    yield from iter_session(request.app.state.session_factory)


SessionDep = Annotated[Session, Depends(get_session)]


def _get_or_404(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"item {item_id} not found")
    return item


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ItemRead)
def create_item(body: ItemCreate, session: SessionDep, response: Response) -> Item:
    item = Item(**body.model_dump())
    session.add(item)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"an item with sku {body.sku!r} already exists") from None
    response.headers["Location"] = f"/items/{item.id}"
    return item


@router.get("", response_model=ItemPage)
def list_items(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    total = session.scalar(select(func.count()).select_from(Item)) or 0
    rows = session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset)).all()
    return ItemPage(items=[ItemRead.model_validate(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/{item_id}", response_model=ItemRead)
def read_item(item_id: int, session: SessionDep) -> Item:
    return _get_or_404(session, item_id)


@router.patch("/{item_id}", response_model=ItemRead)
def update_item(item_id: int, body: ItemUpdate, session: SessionDep) -> Item:
    item = _get_or_404(session, item_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    session.commit()
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: int, session: SessionDep) -> None:
    session.delete(_get_or_404(session, item_id))
    session.commit()
