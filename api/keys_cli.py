"""`ledgercrm keys`: wrapping key rotation, retired versions, shreds after a restore."""

import argparse
import logging
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api.key_custody import add_wrapping_key, destroy_wrapping_key
from api.settings import Settings
from crypto_shredding import WrappedDataKey, WrappingKeyError
from crypto_shredding.rotation import pending_rewraps, rewrap_data_keys

if TYPE_CHECKING:
    from api.wiring import Services

logger = logging.getLogger(__name__)


def rotate(settings: Settings, arguments: argparse.Namespace) -> int:
    """Makes a new wrapping key version current and re-wraps every data key by it.

    1. If a rotation was interrupted (data keys still wrapped by an older version),
       resume it; otherwise create the next wrapping key version.
    2. Re-wrap every live data key by the current version, with a progress bar.
    3. Say which versions are retired and may now be destroyed.
    """
    from tqdm import tqdm

    from api.wiring import open_services

    services = open_services(settings)
    try:
        data_keys = services.data_keys
        # Step 1.
        current = data_keys.wrapping_keys.current.version
        if pending_rewraps(data_keys.store, data_keys.wrapping_keys):
            print(f"resuming the re-wrap to version {current}")
        else:
            version = add_wrapping_key(settings, data_keys.wrapping_keys)
            data_keys.wrapping_keys = data_keys.wrapping_keys.refreshed()
            print(f"created wrapping key version {version}")
            logger.info("wrapping key version %d created", version)
        # Step 2.
        with tqdm(unit="key", desc="re-wrapping", disable=arguments.quiet) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            done = rewrap_data_keys(
                data_keys.store, data_keys.wrapping_keys, progress=progress
            )
        # Step 3.
        current = data_keys.wrapping_keys.current.version
        retired = [n for n in data_keys.wrapping_keys.numbers() if n != current]
    finally:
        services.close()
    print(
        f"re-wrapped {done} data keys; every data key is wrapped by version {current}"
    )
    if retired:
        print(
            f"retired versions {retired}: once every process has restarted, destroy "
            "each with `ledgercrm keys destroy-version N`"
        )
    return 0


def destroy_version(settings: Settings, arguments: argparse.Namespace) -> int:
    """Destroys a retired wrapping key version that no data key needs any more."""
    from api.wiring import open_services

    services = open_services(settings)
    try:
        data_keys = services.data_keys
        in_use = data_keys.store.wrapping_key_versions().get(arguments.version, 0)
        if in_use and arguments.version != data_keys.wrapping_keys.current.version:
            raise WrappingKeyError(
                f"{in_use} data keys are still wrapped by version {arguments.version};"
                " run `ledgercrm keys rotate` first (after restarting every process "
                "that may still wrap with it)"
            )
        destroy_wrapping_key(settings, data_keys.wrapping_keys, arguments.version)
    finally:
        services.close()
    logger.info("wrapping key version %d destroyed", arguments.version)
    print(f"destroyed wrapping key version {arguments.version}")
    return 0


def reapply_shreds(settings: Settings, arguments: argparse.Namespace) -> int:
    """After restoring a key store backup: shreds again every data key whose
    shredding the (append-only) event store records; safe to repeat."""
    from api.wiring import open_services

    services = open_services(settings)
    try:
        shredded = [
            (subject_id, position)
            for subject_id, position in shredded_subjects(services)
            if isinstance(services.data_keys.store.find(subject_id), WrappedDataKey)
        ]
        for subject_id, position in shredded:
            services.data_keys.shred(
                subject_id,
                f"re-applied after a restore: erasure at position {position}",
            )
    finally:
        services.close()
    print(f"re-applied {len(shredded)} shreds that the restored key store had lost")
    return 0


def shredded_subjects(services: "Services") -> list[tuple[UUID, int]]:
    """(subject id, position) of every DataKeyShredded event, in order."""
    from eventsourcing.utils import get_topic

    from domain import Customer

    topic = get_topic(Customer.DataKeyShredded)
    found: list[tuple[UUID, int]] = []
    start = 1
    while page := services.crm.recorder.select_notifications(
        start=start, limit=1000, topics=[topic]
    ):
        found += [(UUID(str(n.originator_id)), n.id) for n in page]
        start = page[-1].id + 1
    return found


def add_key_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="wrapping keys and data keys")
    actions = keys.add_subparsers(required=True, metavar="ACTION")
    rotate_parser = actions.add_parser(
        "rotate", help="new wrapping key version; re-wrap every data key (resumable)"
    )
    rotate_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    rotate_parser.set_defaults(command=rotate)
    destroy = actions.add_parser(
        "destroy-version", help="destroy a retired wrapping key version"
    )
    destroy.add_argument("version", type=int)
    destroy.set_defaults(command=destroy_version)
    actions.add_parser(
        "reapply-shreds",
        help="after restoring a key store backup, shred again what was erased since",
    ).set_defaults(command=reapply_shreds)
