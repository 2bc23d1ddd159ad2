"""Read your own writes: every command answers the position it wrote; every query
takes `after_position` and waits (bounded) for it, else answers 503."""

import threading
import time
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from api.wiring import Services
from tests.api.conftest import Caller, consent_body, purpose_body

# Not queries of data that commands change: liveness and readiness, the API
# description, the signers' keys and content-addressed tiles (a tile never changes
# once served).
NOT_POSITIONED = {
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/v1/ledger/vkey",
    "/v1/ledger/tile/{tile_path}",
}


def queries_without_after_position(client: TestClient) -> list[str]:
    description = client.app.openapi()  # type: ignore[attr-defined]
    return [
        path
        for path, operations in description["paths"].items()
        if "get" in operations
        and path not in NOT_POSITIONED
        and "after_position"
        not in {p["name"] for p in operations["get"].get("parameters", [])}
    ]


def test_every_query_accepts_after_position(client: TestClient) -> None:
    assert queries_without_after_position(client) == []


def test_every_command_answers_the_position_it_wrote(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    admin, sales = callers["admin"], callers["sales"]
    written = sales.post(
        "/v1/customers",
        json={"full_name": "Lê Văn Cường", "consents": [consent_body(marketing)]},
    )
    customer = f"/v1/customers/{written.json()['id']}"
    answers = [
        written,
        sales.patch(f"{customer}/contact-details", json={"email": "c@example.vn"}),
        sales.patch(f"{customer}/profile", json={"stage": "prospect"}),
        sales.post(f"{customer}/interactions", json={"kind": "call", "text": "Gọi"}),
        admin.post("/v1/purposes", json=purpose_body("care", "agreement")),
        sales.post(
            f"{customer}/agreements",
            json={"purpose_code": "care", "agreement_ref": "HD-1"},
        ),
        sales.post(
            f"{customer}/consents/marketing-email/withdrawal",
            json={"channel": "phone"},
        ),
        admin.post(
            "/v1/purposes/care/notices", json={"text_vi": "Văn bản", "text_en": "Text"}
        ),
        admin.post("/v1/purposes/care/retire"),
    ]

    positions = [answer.json()["position"] for answer in answers]
    assert all(answer.status_code in (200, 201) for answer in answers)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[-1] == services.runner.head()


@pytest.mark.parametrize(
    ("path", "params", "reads"),
    [
        ("/v1/customers", {}, "read side"),
        ("/v1/purposes", {}, "read side"),
        ("/v1/purposes/marketing-email", {}, "read side"),
        (
            "/v1/customers/00000000-0000-4000-8000-000000000000/replay",
            {"as_of": "2026-12-01T00:00:00Z"},
            "event store",
        ),
        ("/v1/ledger/checkpoint", {}, "audit ledger"),
        ("/v1/dpo/requests", {}, "event store"),
        ("/v1/dpo/incidents", {}, "event store"),
        ("/v1/ledger/entries", {"start": 0, "stop": 1}, "audit ledger"),
    ],
)
def test_a_query_for_a_position_not_yet_written_answers_503_with_retry_after(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    services: Services,
    path: str,
    params: dict[str, Any],
    reads: str,
) -> None:
    services.settings.__dict__["read_wait_seconds"] = 0.2
    caller = callers["auditor" if "ledger" in path or "replay" in path else "admin"]
    if path == "/v1/customers":
        caller = callers["sales"]
    if path.startswith("/v1/dpo/"):
        caller = callers["dpo"]
    future = services.runner.head() + 1_000

    answer = caller.get(path, params={**params, "after_position": future})

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert f"the {reads} has not reached position {future}" in answer.text


def test_a_query_waits_for_the_position_a_command_answered(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    admin, auditor = callers["admin"], callers["auditor"]
    written = admin.post("/v1/purposes", json=purpose_body("care", "agreement"))
    position = written.json()["position"]

    purposes = admin.get("/v1/purposes", params={"after_position": position})
    checkpoint = auditor.get(
        "/v1/ledger/checkpoint", params={"after_position": position}
    )

    assert "care" in {p["code"] for p in purposes.json()}
    assert checkpoint.status_code == 200
    size = int(checkpoint.text.splitlines()[1])
    assert services.ledger_store.leaf_index_of(position) is not None
    assert size > services.ledger_store.leaf_index_of(position)  # type: ignore[operator]


def test_the_dpo_reads_back_a_request_it_just_opened(
    callers: dict[str, Caller], services: Services
) -> None:
    dpo = callers["dpo"]
    opened = dpo.post(
        "/v1/dpo/requests",
        json={
            "kind": "access",
            "requester_name": "Nguyễn Văn An",
            "requester_contact": "an@example.vn",
        },
    )
    position = opened.json()["position"]

    listed = dpo.get("/v1/dpo/requests", params={"after_position": position})

    assert listed.status_code == 200
    assert opened.json()["id"] in {r["id"] for r in listed.json()}
    assert all(runner.position() >= position for runner in services.runners)


def test_the_public_page_refuses_a_position_not_yet_recorded_at_once(
    client: TestClient, callers: dict[str, Caller], services: Services
) -> None:
    services.settings.__dict__["read_wait_seconds"] = 30  # it must not wait
    defined = callers["admin"].post(
        "/v1/purposes", json=purpose_body("care", "agreement")
    )
    future = services.runner.head() + 1_000

    refused = client.get("/v1/public/privacy", params={"after_position": future})
    shown = client.get(
        "/v1/public/privacy",
        params={"after_position": defined.json()["position"], "lang": "en"},
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_position"
    assert "pass a position that a command answered" in refused.text
    assert shown.status_code == 200
    assert "care" in shown.text


def test_waits_for_the_read_side_never_take_every_worker_thread(
    client: TestClient, callers: dict[str, Caller], services: Services
) -> None:
    """Each waiting query holds a worker thread: at most half of them wait at
    once; one more is answered 503 at once, and queries that need no wait go on."""
    services.settings.__dict__["read_wait_seconds"] = 3.0
    sales = callers["sales"]
    future = services.runner.head() + 1_000
    slots = services.settings.worker_threads // 2
    waiting: list[Any] = []

    def wait() -> None:
        waiting.append(sales.get("/v1/customers", params={"after_position": future}))

    threads = [threading.Thread(target=wait) for _ in range(slots)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    free: Any = services.read_waits
    while free._value > 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until every slot is taken

    refused = sales.get("/v1/customers", params={"after_position": future})
    served = sales.get("/v1/customers")
    for thread in threads:
        thread.join()

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "read_side_busy"
    assert refused.headers["Retry-After"] == "1"
    assert served.status_code == 200
    assert [a.json()["error"]["code"] for a in waiting] == ["read_side_behind"] * slots


def test_the_api_runs_blocking_work_on_the_configured_threads(
    client: TestClient, services: Services
) -> None:
    async def threads() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert client.portal.call(threads) == services.settings.worker_threads  # type: ignore[union-attr]
