"""The lineage bench's graph generator: coverage of every layer, distinct edge count, determinism."""

from __future__ import annotations

import msgspec
import pytest

from bench.lineage import (
    HUB,
    JOB_NAMESPACE,
    NAMESPACE,
    build_events,
    dataset_name,
    generate_graph,
    min_jobs_per_step,
)


def test_every_dataset_is_read_or_written_and_every_layer_covered() -> None:
    plan = generate_graph(3, 5, layers=6, width=8)
    read = {name for job in plan.jobs for name in job.inputs}
    written = {name for job in plan.jobs for name in job.outputs}
    for domain in range(3):
        for layer in range(6):
            names = {dataset_name(domain, layer, k) for k in range(8)}
            if layer < 5:
                assert names <= read, (domain, layer)
            if layer > 0:
                assert names <= written, (domain, layer)
    assert read | written == set(plan.datasets)
    assert len(plan.datasets) == 1 + 3 * 6 * 8


def test_jobs_read_four_of_one_layer_and_write_two_of_the_next() -> None:
    plan = generate_graph(2, 4, layers=4)
    assert len(plan.jobs) == 2 * 3 * 4
    for job in plan.jobs:
        own = [name for name in job.inputs if name != HUB]
        assert len(set(own)) == 4
        assert len(set(job.outputs)) == 2
        assert all(name.startswith(f"d{job.domain}.l{job.step}.") for name in own)
        assert all(name.startswith(f"d{job.domain}.l{job.step + 1}.") for name in job.outputs)
        assert (HUB in job.inputs) == (job.step == 0 and job.index % (3 * 4) == 0)
    assert plan.job(1, 2, 3) is plan.jobs[-1]


def test_default_graph_has_more_than_100_000_distinct_edges() -> None:
    plan = generate_graph(500, min_jobs_per_step())
    # four jobs write disjoint output pairs, so each step holds 4 x 4 x 2 distinct edges, plus the hub's two
    assert plan.edges == 500 * 25 * 32 + 500 * 2
    assert plan.edges >= 100_000
    assert len(plan.datasets) == 500 * 26 * 8 + 1


def test_same_seed_same_graph() -> None:
    first, second = generate_graph(4, 4, layers=5), generate_graph(4, 4, layers=5)
    assert first.jobs == second.jobs
    assert generate_graph(4, 4, layers=5, seed=1).jobs != first.jobs


def test_too_few_jobs_per_step_cannot_cover() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        generate_graph(1, 3)


def test_events_are_openlineage_run_events_keyed_by_job() -> None:
    plan = generate_graph(1, 4, layers=2)
    events = build_events(plan)
    assert [key for key, _ in events] == [f"run:{JOB_NAMESPACE}/job-{i}".encode() for i in range(4)]
    event = msgspec.json.decode(events[0][1])
    assert event["eventType"] == "COMPLETE"
    assert event["eventTime"].endswith("Z")
    assert event["job"] == {"facets": {}, "name": "job-0", "namespace": JOB_NAMESPACE}
    assert event["schemaURL"].endswith("#/$defs/RunEvent")
    assert {d["namespace"] for d in event["inputs"] + event["outputs"]} == {NAMESPACE}
    assert [d["name"] for d in event["outputs"]] == list(plan.jobs[0].outputs)
