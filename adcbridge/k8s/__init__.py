"""The Kubernetes side: what the bridge reads from the cluster, turned into a ``ClusterSnapshot``.

This is the only package of the bridge that will import ``kubernetes_asyncio`` (for the live
watch cache). Its pure parts must not: ``objects`` reads plain dicts (the JSON/YAML form of
Kubernetes objects) so the live cache and the offline ``snapshot_file`` share one set of
rules, and ``snapshot_file`` needs nothing but ``yaml``. Nothing here writes to the cluster.
"""
