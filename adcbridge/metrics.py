"""The Prometheus metrics of one bridge, in a registry of its own.

One ``Metrics`` object is built by the composition root and handed to the components that
count (the ADC client, the reconciler) and to the server that exposes it. A private
registry keeps tests independent of each other and of the process-wide default registry.
The pure core never sees this object. Label values are bounded sets (kinds, actions,
outcomes, reasons): never hostnames or object names, which would explode cardinality.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.reconcile_seconds = Histogram(
            "adcbridge_reconcile_duration_seconds", "Duration of reconcile cycles", ["result"], registry=r,
            buckets=CYCLE_BUCKETS,
        )  # fmt: skip
        self.operations = Counter(
            "adcbridge_operations_total", "ADC object operations by kind, action and result",
            ["kind", "action", "result"], registry=r,
        )  # fmt: skip
        self.adc_requests = Counter(
            "adcbridge_adc_requests_total", "HTTP requests to the ADC by method and outcome", ["method", "outcome"],
            registry=r,
        )  # fmt: skip
        self.adc_request_seconds = Histogram(
            "adcbridge_adc_request_duration_seconds", "Latency of HTTP requests to the ADC", ["method"], registry=r,
            buckets=LATENCY_BUCKETS,
        )  # fmt: skip
        self.drift_repairs = Counter(
            "adcbridge_drift_repairs_total", "Objects changed on the ADC by someone else and put back", ["kind"],
            registry=r,
        )  # fmt: skip
        self.held_back_deletions = Gauge(
            "adcbridge_held_back_deletions", "Deletions held back by the guard in the last cycle", registry=r
        )
        self.managed_objects = Gauge(
            "adcbridge_managed_objects", "Objects we own on the ADC after the last cycle", ["kind"], registry=r
        )
        self.rejected_hosts = Gauge(
            "adcbridge_rejected_hosts",
            "Host claims not published in the last cycle, by reason: invalid_host, invalid_mergeable,"
            " orphan_minion (a minion whose host has no master), conflict (a name someone else holds)",
            ["reason"],
            registry=r,
        )
        self.conflicts = Gauge("adcbridge_conflicts", "Names held by objects we do not own", ["kind"], registry=r)
        self.last_success = Gauge(
            "adcbridge_last_success_timestamp_seconds",
            "Unix time of the last cycle whose operations all succeeded",
            registry=r,
        )
        self.dns_checks = Gauge(
            "adcbridge_dns_checks", "Names per DNS server by the last check's result", ["reason"], registry=r
        )
        self.dns_check_seconds = Gauge("adcbridge_dns_check_duration_seconds", "The last DNS check", registry=r)
        self.dns_check_last = Gauge(
            "adcbridge_dns_check_timestamp_seconds", "When the last DNS check ended", registry=r
        )
        self.leader = Gauge("adcbridge_leader", "1 while this replica holds the Lease and may write", registry=r)
        self.adc_active_unit = Gauge(
            "adcbridge_adc_active_unit",
            "1 for the ADC unit the bridge writes to, 0 for each other unit of adc.url (an HA pair)",
            ["url"],
            registry=r,
        )
        self.adc_credentials_refused = Gauge(
            "adcbridge_adc_credentials_refused",
            "ADC units whose last login refused the bridge's credentials (1 for a single unit), until a login"
            " succeeds: a refused unit is not asked again until the credentials change",
            registry=r,
        )
        self.adc_sync_pending = Gauge(
            "adcbridge_adc_sync_pending",
            "1 while the ADC's device group reported changes not synced (Changes Pending) after our last sync",
            registry=r,
        )
        self.ready = Gauge(
            "adcbridge_ready", "1 while /readyz answers 200 (evaluated at each scrape), 0 otherwise", registry=r
        )
        self.degraded = Gauge("adcbridge_degraded", "1 while the cluster view is degraded or incomplete", registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
