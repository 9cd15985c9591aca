"""Background work: the transactional outbox, its relay to RQ, the worker and the jobs."""
