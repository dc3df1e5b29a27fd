"""Prometheus metrics served at ``/metrics``: counters from the workers, gauges from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

if TYPE_CHECKING:
    from hub.pipeline.delivery import DeliveryResult
    from hub.pipeline.engine import BatchResult
    from hub.runtime import Hub

REGISTRY = CollectorRegistry()

RECORDS = Counter("leadhub_records_processed", "Inbox records processed", ["result"], registry=REGISTRY)
LEADS_ROUTED = Counter("leadhub_leads_routed", "Leads routed to an owner", registry=REGISTRY)
DELIVERIES = Counter("leadhub_deliveries", "Outbox rows settled", ["result"], registry=REGISTRY)
BACKLOG = Gauge("leadhub_backlog", "Rows waiting, by queue", ["queue"], registry=REGISTRY)


def observe_batch(result: BatchResult) -> None:
    if result.processed:
        RECORDS.labels("processed").inc(result.processed - result.quarantined - result.echoes)
        RECORDS.labels("quarantined").inc(result.quarantined)
        RECORDS.labels("echo").inc(result.echoes)
        LEADS_ROUTED.inc(result.routed)


def observe_delivery(result: DeliveryResult) -> None:
    DELIVERIES.labels("sent").inc(result.sent)
    DELIVERIES.labels("retried").inc(result.retried)
    DELIVERIES.labels("dead").inc(result.dead)


def refresh_gauges(hub: Hub) -> None:
    with hub.store.engine.connect() as conn:
        counts = hub.store.counts(conn)
    for queue in ("inbox_pending", "outbox_pending", "quarantine_open", "dead_letters_open", "match_reviews_open"):
        BACKLOG.labels(queue).set(counts[queue])
