"""Records reads of personal data in shared transactions (group commit).

Every read is recorded before its answer is sent (PROCESSING-LOG), so a read costs
at least one commit. Under load, reads that arrive while a commit is under way are
recorded together in the next one: the first waiting reader writes the batch for
everyone, and each reader returns once its own event is stored.
"""

import logging
import threading
from dataclasses import dataclass, field
from uuid import UUID

from domain import CRM, Actor, PersonalDataRead, Written

logger = logging.getLogger(__name__)


@dataclass
class _Ticket:
    read: PersonalDataRead
    written: Written | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class GroupedReadLog:
    """Records reads through `crm`, many per transaction when they coincide."""

    def __init__(self, crm: CRM, *, max_batch: int = 500) -> None:
        self.crm = crm
        self.max_batch = max_batch
        self._changed = threading.Condition()
        self._pending: list[_Ticket] = []
        self._writing = False

    def record(
        self, actor: Actor, customer_id: UUID, purpose_code: str, fields: list[str]
    ) -> Written:
        """Returns once the read is stored; raises what storing it raised."""
        ticket = _Ticket(PersonalDataRead(actor, customer_id, purpose_code, fields))
        with self._changed:
            self._pending.append(ticket)
            while not ticket.done:
                if self._writing:
                    self._changed.wait()
                    continue
                self._writing = True
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                self._changed.release()
                try:
                    self._write(batch)
                finally:
                    self._changed.acquire()
                    self._writing = False
                    self._changed.notify_all()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.written is not None
        return ticket.written

    def _write(self, batch: list[_Ticket]) -> None:
        try:
            written = self.crm.record_personal_data_reads([t.read for t in batch])
        except BaseException as error:  # each waiting reader gets the failure
            for ticket in batch:
                ticket.error, ticket.done = error, True
            return
        for ticket, recorded in zip(batch, written, strict=True):
            ticket.written, ticket.done = recorded, True
        if len(batch) > 1:
            logger.debug("recorded %d reads in one transaction", len(batch))
