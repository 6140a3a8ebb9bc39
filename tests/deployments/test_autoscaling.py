"""The Gateway's autoscaling policy sees load that ongoing-request counts miss (direct ingress)."""

from __future__ import annotations

import pytest
from ray.serve.config import AutoscalingConfig, AutoscalingContext

from deployments.autoscaling import CPU_METRIC, CpuAwarePolicy, CpuMeter
from deployments.launch import load_config


def context(
    replicas: list[str], cores: dict[str, float] | None, requests: float = 0.0
) -> AutoscalingContext:
    return AutoscalingContext(
        deployment_id=None,
        deployment_name="Gateway",
        app_name="entertainai",
        current_num_replicas=len(replicas),
        target_num_replicas=len(replicas),
        running_replicas=replicas,
        total_num_requests=requests,
        total_queued_requests=0.0,
        aggregated_metrics={CPU_METRIC: cores} if cores is not None else {},
        raw_metrics={},
        capacity_adjusted_min_replicas=1,
        capacity_adjusted_max_replicas=4,
        policy_state={},
        last_scale_up_time=None,
        last_scale_down_time=None,
        current_time=0.0,
        config=AutoscalingConfig(min_replicas=1, max_replicas=4, target_ongoing_requests=16),
    )


def test_a_busy_replica_with_nothing_in_flight_asks_for_more():
    # What direct ingress looks like to Serve: a saturated loop, ~0 ongoing requests.
    desired, _ = CpuAwarePolicy(target_cpu=0.6)(context(["a"], {"a": 0.95}, requests=0.3))
    assert desired == pytest.approx(0.95 / 0.6)  # Serve rounds up: 2 replicas


def test_queued_requests_still_scale_when_cpu_is_idle():
    # Traffic through the proxy queues at handles: the default policy's answer stands.
    desired, _ = CpuAwarePolicy(target_cpu=0.6)(context(["a", "b"], {"a": 0.1}, requests=64))
    assert desired == pytest.approx(2 * 64 / (16 * 2))


def test_quiet_replicas_scale_down_and_stopped_ones_do_not_count():
    cores = {"a": 0.2, "b": 0.2, "gone": 3.0}
    desired, _ = CpuAwarePolicy(target_cpu=0.6)(context(["a", "b"], cores, requests=1))
    assert desired == pytest.approx(0.4 / 0.6)  # under two: Serve scales down to one
    assert CpuAwarePolicy()(context(["a"], None, requests=16))[0] == pytest.approx(1.0)


def test_policy_refuses_a_non_positive_target():
    with pytest.raises(ValueError, match="target_cpu"):
        CpuAwarePolicy(target_cpu=0)


def test_cpu_meter_reads_cores_used_between_calls():
    readings = [(0.0, 100.0), (1.5, 102.0), (1.5, 103.0), (1.5, 103.0)]  # (cpu s, wall s)
    now = iter(readings)
    current: list[tuple[float, float]] = []

    def cpu() -> float:
        current[:] = [next(now)]
        return current[0][0]

    meter = CpuMeter(cpu=cpu, clock=lambda: current[0][1])
    # 1.5 s of CPU in 2 s; then idle for 1 s; then no time passed at all
    assert [meter.read() for _ in range(3)] == pytest.approx([0.75, 0.0, 0.0])


def test_shipped_gateway_scales_on_cpu():
    (app,) = load_config()["applications"]
    gateway = next(d for d in app["deployments"] if d["name"] == "Gateway")
    policy = gateway["autoscaling_config"]["policy"]
    assert policy["policy_function"] == "deployments.autoscaling:CpuAwarePolicy"
    assert 0 < CpuAwarePolicy(**policy["policy_kwargs"]).target_cpu <= 1
