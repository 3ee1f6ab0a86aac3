"""Background work about people: committing large imports and expiring old uploads
(invitation emails go through the outbox: notify/invitations.py)."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts import services
from accounts.models import User

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.commit_import_batch")
def commit_import_batch(batch_id: int, by_id: int | None = None, invite: bool = False) -> None:
    """Commit a large import batch (accounts.services.import_batch_commit), all or nothing.

    Nothing to do if the batch was committed or discarded meanwhile; the commit itself locks
    the batch and checks again, so a task delivered twice writes once.
    """
    from accounts.models import ImportBatch

    batch = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).first()
    if batch is None:
        return
    by = User.objects.filter(pk=by_id).first() if by_id else None
    services.import_batch_commit(batch=batch, by=by, invite=invite)


@shared_task(name="accounts.tasks.expire_import_batches")
def expire_import_batches() -> None:
    """Daily: old uploads stop holding personal data (accounts.services.import_batches_expire)."""
    discarded, cleared = services.import_batches_expire()
    logger.info(
        "import batches: %s stale uploads discarded, %s committed rows cleared", discarded, cleared
    )
