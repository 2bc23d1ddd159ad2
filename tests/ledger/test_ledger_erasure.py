"""After crypto-shredding, the full audit still passes and names shredded subjects."""

import json
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger import LedgerIntegrator, export, verify_export
from ledger.verify import SHREDDED_NOTE, main
from tests.ledger.ledger_test_support import LedgerSetup, record_tickets

if TYPE_CHECKING:
    from api.wiring import Services


class Subject(Aggregate):
    """A data subject whose key is shredded, named as LedgerCRM names the event."""

    @event("Registered")
    def __init__(self, sealed_name: str, actor: str) -> None:
        self.sealed_name = sealed_name

    @event("DataKeyShredded")
    def record_data_key_shredded(self, data_key_id: str, actor: str) -> None:
        self.shredded = True


def shred_subjects(app: Application, count: int) -> list[tuple[UUID, str]]:
    """Register `count` subjects, then shred each one's data key."""
    shredded = []
    for number in range(count):
        subject = Subject(f"ciphertext {number}", actor="sales:u-17")
        app.save(subject)
        data_key_id = str(uuid4())
        subject.record_data_key_shredded(data_key_id, actor="dpo:u-dpo")
        app.save(subject)
        shredded.append((subject.id, data_key_id))
    return shredded


@pytest.mark.requirement("DSR-ERASE")
def test_audit_after_shredding_passes_and_lists_the_shredded_subjects(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    record_tickets(app, 3)
    shredded = shred_subjects(app, 2)
    record_tickets(app, 2)
    setup.integrator(app).run_once()
    export(setup.store(), tmp_path / "export", event_records=app.recorder)

    report = verify_export(tmp_path / "export", setup.signer.vkeys)

    assert report.event_records_checked == report.tree_size == 9
    listed = [
        (UUID(s.originator_id), s.data_key_id, s.index)
        for s in report.shredded_subjects
    ]
    assert listed == [
        (shredded[0][0], shredded[0][1], 4),
        (shredded[1][0], shredded[1][1], 6),
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_export_without_stored_events_lists_shredded_subjects_without_key_ids(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    shredded = shred_subjects(app, 1)
    setup.integrator(app).run_once()
    export(setup.store(), tmp_path / "export")

    report = verify_export(tmp_path / "export", setup.signer.vkeys)

    assert report.event_records_checked == 0
    assert [(s.originator_id, s.data_key_id) for s in report.shredded_subjects] == [
        (str(shredded[0][0]), None)
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_verifier_report_says_shredded_fields_are_unrecoverable_by_design(
    setup: LedgerSetup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = setup.application()
    record_tickets(app, 1)
    shred_subjects(app, 1)
    setup.integrator(app).run_once()
    export(setup.store(), tmp_path / "export", event_records=app.recorder)

    status = main([str(tmp_path / "export"), "--vkey", setup.signer.vkeys[0]])

    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["ok"] is True
    assert report["shredded_subjects_note"] == SHREDDED_NOTE
    assert "unrecoverable by design" in SHREDDED_NOTE
    assert report["shredded_subjects"][0]["index"] == 2


@pytest.mark.requirement("DSR-ERASE")
def test_erased_crm_customers_are_reported_shredded_and_their_events_verify(
    services: "Services", tmp_path: Path
) -> None:
    from domain import Actor, AgreementCapture, CustomerProfile, PersonalDetails

    crm, admin = services.crm, Actor("u-admin", "admin")
    crm.define_purpose(
        admin,
        "delivery",
        "Giao hàng",
        "Delivery",
        "agreement",
        [("email", "basic")],
        30,
    )
    agreement = AgreementCapture("delivery", "HĐ-1")
    customers = [
        crm.register_customer(
            Actor("u-17", "sales"),
            PersonalDetails(full_name=name, email=f"{number}@example.vn"),
            CustomerProfile(),
            agreements=[agreement],
        ).id
        for number, name in enumerate(["Nguyễn Thị Lan", "Trần Văn Bình"])
    ]
    crm.erase_customer(Actor("u-dpo", "dpo"), customers[0], "DSR-ERASE request 1")
    integrator = LedgerIntegrator(crm.recorder, services.ledger_store, services.signer)
    with integrator:
        integrator.run_once()
    export(services.ledger_store, tmp_path / "export", event_records=crm.recorder)

    report = verify_export(tmp_path / "export", services.signer.vkeys)

    assert report.event_records_checked == report.tree_size
    assert [UUID(s.originator_id) for s in report.shredded_subjects] == customers[:1]
    assert report.shredded_subjects[0].data_key_id is not None
