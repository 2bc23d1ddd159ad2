"""The customer list: filters, sorting, opaque cursors, and clear 4xx answers to
bad input, never a 500."""

from typing import Any

import pytest

from tests.api.conftest import Caller, registration

pytestmark = pytest.mark.usefixtures("backend")


def register(sales: Caller, marketing: dict[str, Any], **fields: Any) -> Any:
    response = sales.post("/v1/customers", json={**registration(marketing), **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def listed(caller: Caller, position: int, **params: Any) -> Any:
    response = caller.get(
        "/v1/customers", params={"after_position": position, **params}
    )
    assert response.status_code == 200, response.json()
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["customers"]]


@pytest.fixture
def population(callers: dict[str, Caller], marketing: dict[str, Any]) -> Any:
    """Four customers that differ in stage, owner, tags, province and consent."""
    sales = callers["sales"]
    hanoi = register(
        sales, marketing, stage="lead", owner="an", tags=["vip"], province="Hà Nội"
    )
    hue = register(sales, marketing, stage="lead", owner="binh", province="Huế")
    london = register(
        sales,
        marketing,
        stage="customer",
        owner="an",
        jurisdiction="GB",
        province="GB-LND",
        tags=["vip", "uk"],
    )
    saigon = register(sales, marketing, stage="prospect", province="Hồ Chí Minh")
    last = sales.post(
        f"/v1/customers/{saigon['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    ).json()
    return {
        "hanoi": hanoi["id"],
        "hue": hue["id"],
        "london": london["id"],
        "saigon": saigon["id"],
        "position": last["position"],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "lead"}, {"hanoi", "hue"}),
        ({"owner": "an"}, {"hanoi", "london"}),
        ({"tag": "vip"}, {"hanoi", "london"}),
        ({"tag": "uk", "owner": "an"}, {"london"}),
        ({"jurisdiction": "GB"}, {"london"}),
        ({"province": "Huế"}, {"hue"}),
        ({"consent_purpose": "marketing-email"}, {"hanoi", "hue", "london"}),
        (
            {"consent_purpose": "marketing-email", "consent_state": "withdrawn"},
            {"saigon"},
        ),
        ({"consent_purpose": "marketing-email", "consent_state": "none"}, set()),
    ],
)
def test_filters_select_the_matching_customers(
    callers: dict[str, Caller],
    population: dict[str, Any],
    params: dict[str, str],
    expected: set[str],
) -> None:
    page = listed(callers["manager"], population["position"], **params)

    assert set(ids(page)) == {population[name] for name in expected}


def test_sorting_by_registration_descending_pages_through_everyone_once(
    callers: dict[str, Caller], population: dict[str, Any]
) -> None:
    manager, position = callers["manager"], population["position"]
    seen: list[str] = []
    cursor = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = listed(manager, position, sort="-registered_at", limit=1, **extra)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    names = ["saigon", "london", "hue", "hanoi"]  # newest first
    assert seen == [population[name] for name in names]


def test_sorting_by_stage_orders_groups_then_ids(
    callers: dict[str, Caller], population: dict[str, Any]
) -> None:
    page = listed(callers["manager"], population["position"], sort="stage")

    stages = [c["stage"] for c in page["customers"]]
    assert stages == sorted(stages)


@pytest.mark.parametrize(
    ("params", "status", "code", "says"),
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor", "next_cursor"),
        ({"cursor": "e30"}, 400, "invalid_cursor", "next_cursor"),
        ({"colour": "red"}, 422, "unknown_filter", "stage"),
        ({"limit": 100_000}, 422, "invalid_request", "500"),
        ({"limit": 0}, 422, "invalid_request", "1"),
        ({"sort": "full_name"}, 422, "invalid_request", "registered_at"),
        ({"stage": "vip"}, 422, "invalid_request", "lead"),
        ({"consent_state": "given"}, 422, "invalid_request", "consent_purpose"),
        ({"consent_purpose": "nope"}, 404, "purpose_not_found", "purpose"),
        ({"after_position": -1}, 422, "invalid_request", "0"),
    ],
)
def test_bad_list_queries_get_a_4xx_saying_what_is_expected(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    params: dict[str, Any],
    status: int,
    code: str,
    says: str,
) -> None:
    response = callers["sales"].get("/v1/customers", params=params)

    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert says in response.json()["error"]["message"]


def test_a_cursor_from_another_sort_is_refused(
    callers: dict[str, Caller], population: dict[str, Any]
) -> None:
    page = listed(callers["manager"], population["position"], limit=1, sort="owner")

    response = callers["manager"].get(
        "/v1/customers", params={"cursor": page["next_cursor"], "sort": "stage"}
    )

    assert response.status_code == 400
    assert "sorted by 'owner'" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/not-a-uuid?purpose=marketing-email",
        "/v1/customers/123/consents",
        "/v1/customers/123/timeline",
        "/v1/customers/123/interactions?purpose=marketing-email",
    ],
)
def test_malformed_ids_get_422_naming_the_id(
    callers: dict[str, Caller], path: str
) -> None:
    response = callers["dpo"].get(path)

    assert response.status_code == 422
    assert "customer_id" in response.json()["error"]["message"]


def test_province_outside_the_closed_list_is_refused(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    response = callers["sales"].post(
        "/v1/customers",
        json={**registration(marketing), "province": "12 Lý Thường Kiệt"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "province"
    assert "Lý Thường" not in response.text


def test_province_changes_through_the_profile(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing, province="Huế")

    changed = callers["sales"].patch(
        f"/v1/customers/{written['id']}/profile", json={"province": "Đà Nẵng"}
    )

    page = listed(callers["manager"], changed.json()["position"], province="Đà Nẵng")
    assert ids(page) == [written["id"]]
