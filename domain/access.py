"""Records of reads of personal data: who read which fields of whom, for what."""

from uuid import UUID

from eventsourcing.domain import Aggregate


class PersonalDataAccess(Aggregate):
    """One read of a customer's personal fields, kept as evidence (PROCESSING-LOG).

    Each read is its own aggregate, so recording reads never contends with
    writes to the customer. It holds ids and field names, never values.
    """

    class Recorded(Aggregate.Created):
        customer_id: UUID
        purpose_code: str
        fields: list[str]
        actor: str

    def __init__(self, customer_id: UUID, purpose_code: str, fields: list[str]) -> None:
        self.customer_id = customer_id
        self.purpose_code = purpose_code
        self.fields = list(fields)


class PersonalDataExport(Aggregate):
    """One bulk export of personal fields to a named recipient (NO-SALE).

    It names the recipient, the agreement and the basis, and lists the customers
    whose fields left the system, so that a disclosure can be traced and a breach
    sized. It holds ids, references and field names, never values.
    """

    class Recorded(Aggregate.Created):
        purpose_code: str
        recipient: str
        agreement_ref: str
        basis: str
        fields: list[str]
        customer_ids: list[UUID]
        actor: str

    def __init__(
        self,
        purpose_code: str,
        recipient: str,
        agreement_ref: str,
        basis: str,
        fields: list[str],
        customer_ids: list[UUID],
    ) -> None:
        self.purpose_code = purpose_code
        self.recipient = recipient
        self.agreement_ref = agreement_ref
        self.basis = basis
        self.fields = list(fields)
        self.customer_ids = list(customer_ids)
