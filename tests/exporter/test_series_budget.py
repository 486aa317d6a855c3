"""Series budgets per metric family (issue 14, item 12): label caps alone let combinations
multiply (200 operations x 200 error types made 80,405 samples); a family's budget bounds
them, every family has its own, and every fold is counted."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from exporter import Instrumentation
from exporter.labels import OTHER, SeriesBudget


def children(registry: CollectorRegistry, family: str) -> set[tuple[tuple[str, str], ...]]:
    """The label sets of ``family``'s samples (one per child)."""
    out = set()
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == family:
                out.add(tuple(sorted(s.labels.items())))
    return out


def fail(inst: Instrumentation, dep: str, operation: str, error_type: str) -> None:
    with inst.dependency(dep, operation) as call:
        call.fail(error_type)


def test_operations_times_error_types_stay_within_the_family_budget(
        make_inst: Callable[..., Instrumentation], registry: CollectorRegistry,
        value: Callable[..., float]) -> None:
    inst = make_inst(series_cap=300)
    for op in range(60):
        for et in range(60):
            fail(inst, "pms", f"op{op}", f"type{et}")
    errors = children(registry, "pms_adapter_errors_total")
    assert len(errors) == 300
    requests = children(registry, "pms_adapter_requests_total")
    assert len(requests) == 60  # under its own budget: untouched
    # 270 combinations as written (the all-other one among them), 30 kept for partial folds
    assert value("slo_exporter_series_folded_total", family="pms_adapter_errors_total") == (
        60 * 60 - 269)
    assert value("slo_exporter_series_folded_total", family="pms_adapter_requests_total") == 0
    # every call is still counted, in its own series or a folded one
    total = sum(registry.get_sample_value("pms_adapter_errors_total", dict(labels)) or 0
                for labels in errors)
    assert total == 60 * 60


def test_folding_keeps_the_operation_before_the_error_type(
        make_inst: Callable[..., Instrumentation], registry: CollectorRegistry) -> None:
    inst = make_inst(series_cap=10)  # 9 as written (the tenth is kept for folds)
    for et in range(10):
        fail(inst, "gmail", "send", f"t{et}")
    for op in range(3):
        fail(inst, "gmail", f"op{op}", "t0")
    assert children(registry, "gmail_errors_total") == {
        *((("error_type", f"t{et}"), ("operation", "send")) for et in range(8)),
        (("error_type", "other"), ("operation", "send")),  # t8, t9 and op0/t0
        (("error_type", "other"), ("operation", "other")),  # reserved from the start
    }


def test_a_noisy_dependency_does_not_spend_the_requests_error_types(
        make_inst: Callable[..., Instrumentation], value: Callable[..., float]) -> None:
    """The ``error_type`` cap was one for requests and all five dependencies: 200 types on
    the PMS turned the requests' next new type into ``other``."""

    class Boom(Exception):
        pass

    inst = make_inst(label_cap=50, error_types={Boom: "boom_error"})
    for et in range(100):
        fail(inst, "pms", "get", f"pms_type_{et}")
        fail(inst, "audio", "transcribe", f"audio_type_{et}")
    try:
        raise Boom
    except Boom as exc:
        inst.requests.failure("/reservations/{id}", "GET", 0, exc).record(0.1, 1.0)
    assert value("orchestrator_errors_total", endpoint="/reservations/{id}",
                 error_type="boom_error") == 1
    assert value("pms_adapter_errors_total", operation="get", error_type="other") == 51


def test_request_families_each_have_a_budget(
        make_inst: Callable[..., Instrumentation], registry: CollectorRegistry,
        value: Callable[..., float]) -> None:
    inst = make_inst(label_caps={"endpoint": 1000}, series_caps={"http_requests_total": 20})
    for i in range(100):
        inst.requests.outcome(f"/e{i}", "GET", 200).record(0.01, 1.0)
    # 17 endpoints as written (18 with the reserved all-other one), then one folded series
    assert len(children(registry, "http_requests_total")) == 18
    assert len(children(registry, "orchestrator_requests_total")) == 100
    # endpoints fold first: the status (what the SLOs read) survives
    assert value("http_requests_total", endpoint="other", method="GET", status="200") == 83
    assert value("slo_exporter_series_folded_total", family="http_requests_total") == 83


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("xyz"),
                          st.sampled_from("12")), max_size=80),
       st.integers(min_value=2, max_value=12),
       st.permutations([0, 1, 2]))
def test_budget_never_exceeds_its_cap_and_folds_consistently(
        combos: list[tuple[str, str, str]], cap: int, fold: list[int]) -> None:
    budget = SeriesBudget("f", fold, cap)
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for combo in combos:
        out = budget(combo)
        assert len(budget.combinations()) <= cap
        assert out in budget.combinations()
        if out != combo:  # folded: some labels became other, in fold order, the rest kept
            changed = [i for i in range(3) if out[i] != combo[i]]
            assert all(out[i] == OTHER for i in changed)
            k = max(fold.index(i) for i in changed) if changed else -1
            assert all(out[fold[j]] == OTHER for j in range(k + 1))
        if combo in seen and seen[combo] == combo:
            assert out == combo  # once admitted, always itself
        seen[combo] = out


def test_budget_cap_holds_under_threads() -> None:
    budget = SeriesBudget("f", (0,), 50)
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(500):
            budget((f"{n}-{i}",))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(budget.combinations()) == 50  # one label: no room kept for partial folds
    assert budget.folded == 8 * 500 - 49


def test_budget_needs_room_for_other() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        SeriesBudget("f", (0,), 1)
