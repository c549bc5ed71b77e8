"""The items API: what test traffic exercises during a deployment."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _create(client: TestClient, sku: str = "SKU-1", **fields: object) -> dict:
    response = client.post("/items", json={"sku": sku, "name": f"Item {sku}", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_update_delete(client: TestClient) -> None:
    created = _create(client, quantity=3, description="first")
    assert created["sku"] == "SKU-1"
    assert created["quantity"] == 3
    location = f"/items/{created['id']}"

    assert client.get(location).json() == created

    updated = client.patch(location, json={"quantity": 7})
    assert updated.status_code == 200
    assert updated.json()["quantity"] == 7
    assert updated.json()["name"] == "Item SKU-1"  # fields left out are not changed
    assert updated.json()["description"] == "first"

    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404


def test_location_header_points_at_the_new_item(client: TestClient) -> None:
    response = client.post("/items", json={"sku": "LOC-1", "name": "x"})
    assert client.get(response.headers["location"]).json()["sku"] == "LOC-1"


def test_list_paginates_in_id_order(client: TestClient) -> None:
    for number in range(5):
        _create(client, sku=f"SKU-{number}")
    page = client.get("/items", params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 2)
    assert [item["sku"] for item in page["items"]] == ["SKU-2", "SKU-3"]
    assert client.get("/items", params={"offset": 10}).json()["items"] == []


def test_missing_item_is_404_with_a_reason(client: TestClient) -> None:
    for response in (
        client.get("/items/999"),
        client.patch("/items/999", json={"quantity": 1}),
        client.delete("/items/999"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "item 999 not found"}


def test_duplicate_sku_is_409(client: TestClient) -> None:
    _create(client, sku="DUP-1")
    response = client.post("/items", json={"sku": "DUP-1", "name": "again"})
    assert response.status_code == 409
    assert response.json()["detail"] == "an item with sku 'DUP-1' already exists"
    assert client.get("/items").json()["total"] == 1


def _error_fields(response) -> set[str]:
    assert response.status_code == 422
    return {str(error["loc"][-1]) for error in response.json()["detail"]}


def test_validation_errors_are_422_naming_the_field(client: TestClient) -> None:
    assert _error_fields(client.post("/items", json={"sku": "lower case", "name": "x"})) == {"sku"}
    assert _error_fields(client.post("/items", json={"sku": "OK-1", "name": ""})) == {"name"}
    assert _error_fields(client.post("/items", json={"sku": "OK-1", "name": "x", "quantity": -1})) == {"quantity"}
    assert _error_fields(client.post("/items", json={"sku": "OK-1", "name": "x", "colour": "red"})) == {"colour"}
    assert _error_fields(client.get("/items", params={"limit": 0})) == {"limit"}
    assert _error_fields(client.get("/items", params={"limit": 101})) == {"limit"}
    assert _error_fields(client.get("/items/not-a-number")) == {"item_id"}


def test_patch_rejects_null_for_required_fields(client: TestClient) -> None:
    item = _create(client, sku="NUL-1")
    assert _error_fields(client.patch(f"/items/{item['id']}", json={"name": None})) == {"name"}
    assert _error_fields(client.patch(f"/items/{item['id']}", json={"quantity": None})) == {"quantity"}
    # description is nullable: clearing it is allowed
    cleared = client.patch(f"/items/{item['id']}", json={"description": None})
    assert cleared.status_code == 200
    assert cleared.json()["description"] is None
