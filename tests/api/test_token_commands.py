"""`ledgercrm token create|list|revoke|reinstate|set-role` and `serve`'s
configuration record, on both backends; each change is a security event."""

import uuid

import pytest

from api.cli import main
from api.security import record_configuration
from api.settings import Settings
from api.wiring import Services, open_services
from domain.security import security_events
from tests.api.security_support import reconfigured


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LEDGERCRM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LEDGERCRM_DATABASE_URL", settings.database_url)
    monkeypatch.chdir(settings.data_dir.parent)  # no stray .env
    return settings


def token_id_in(output: str) -> str:
    return output.split()[1]


def test_token_lifecycle_on_the_command_line_is_recorded(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["token", "create", "--role", "sales", "--name", "an", "--days", "7"]) == 0
    )
    created = capsys.readouterr().out
    token_id = token_id_in(created)
    token = next(w for w in created.split() if w.startswith("lcrm_"))

    assert main(["token", "set-role", token_id, "dpo"]) == 0
    assert main(["token", "revoke", token_id]) == 0
    assert main(["token", "revoke", token_id]) == 2
    assert main(["token", "list"]) == 0
    listed = capsys.readouterr()

    assert "expires in 7 days" in created
    assert "already revoked" in listed.err
    line = next(x for x in listed.out.splitlines() if x.startswith(token_id))
    assert " dpo " in line and " revoked " in line
    services = open_services(cli_env)
    try:
        kinds = [(e.kind, e.principal_id) for e in security_events(services.crm)]
        assert services.access.authenticate(token) is None
        stored = b"".join(
            n.state
            for n in services.crm.recorder.select_notifications(start=None, limit=100)
        )
    finally:
        services.close()
    assert kinds == [
        ("token-created", token_id),
        ("role-changed", token_id),
        ("token-revoked", token_id),
    ]
    assert token.split("_")[2].encode() not in stored


def test_a_token_without_expiry_is_possible_but_said_so(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["token", "create", "--role", "auditor", "--name", "exporter", "--no-expiry"])

    assert "expires never" in capsys.readouterr().out


def test_reinstating_a_token_that_is_not_suspended_is_refused(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["token", "create", "--role", "sales", "--name", "an"])
    token_id = token_id_in(capsys.readouterr().out)

    assert main(["token", "reinstate", token_id]) == 2
    assert "is not suspended" in capsys.readouterr().err


def test_configuration_changes_are_recorded_naming_the_settings(
    settings: Settings, services: Services
) -> None:
    first = record_configuration(services)
    unchanged = record_configuration(services)
    changed_services = open_services(
        reconfigured(settings, rate_limit_per_minute=60, metrics_token="s3cret-token")
    )
    try:
        changed = record_configuration(changed_services)
    finally:
        changed_services.close()

    events = security_events(services.crm, "configuration-changed")
    assert "rate_limit_per_minute" in first and unchanged == []
    assert changed == ["metrics_token", "rate_limit_per_minute"]
    assert events[-1].details["values"] == {"rate_limit_per_minute": "60"}
    assert "s3cret-token" not in repr(events[-1].details)
    assert events[0].details["first_start"] is True


def test_a_suspended_signed_in_person_is_listed_and_can_be_reinstated(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    person = uuid.uuid5(uuid.NAMESPACE_URL, "https://idp.example#staff-7").hex
    services = open_services(cli_env)
    try:
        services.access.suspend(person, "bulk-read alert")
    finally:
        services.close()

    main(["token", "list"])
    listed = capsys.readouterr().out
    code = main(["token", "reinstate", person])

    assert f"{person}  person   suspended since" in listed
    assert code == 0
    services = open_services(cli_env)
    try:
        assert not services.access.is_suspended(person)
        (event,) = security_events(services.crm, "token-reinstated")
    finally:
        services.close()
    assert event.principal_id == person
