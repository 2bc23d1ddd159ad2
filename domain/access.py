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
