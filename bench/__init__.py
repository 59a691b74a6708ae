"""Headwater's load generator: `make bench` (or `python -m bench`) against a running system (`make up`).

It measures, in one process on one (uvloop) event loop:

* `http_load`: start+end execution pairs per second through the gateway, and per-endpoint latency, at several
  concurrency levels;
* `event_delay`: during one of those levels, the delay from an end's 204 to its `execution.ended` event
  reaching a Kafka consumer (the outbox relay's share of the end-to-end path);
* `ingress`: how fast one execution-tracking worker absorbs `ingress.runs` reports;
* `lineage`: graph query latency through the gateway on a lineage graph of over 100,000 edges, built once from
  OpenLineage events on `ingress.lineage` (and how fast those were ingested).

`report` prints the results as tables and writes them to `bench/results/<timestamp>.json`.
"""
