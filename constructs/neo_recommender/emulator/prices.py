"""On-demand prices of SageMaker real-time inference instances, for the IR simulator only.

The figures are approximate public list prices for SageMaker real-time inference
(hosting) instances in us-east-1, in USD per instance-hour, as best known in mid-2024.
They are *not* authoritative and are not used to bill or to make any real decision:
the Inference Recommender simulator only needs plausible, stable numbers to compute
``CostPerHour`` and ``CostPerInference`` the way Inference Recommender does.  vCPU counts
and memory sizes are those of the underlying EC2 instance types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class InstancePrice:
    """Hourly on-demand price and size of one SageMaker hosting instance type."""

    hourly_usd: float
    vcpus: int
    memory_gib: float


_PRICES: dict[str, InstancePrice] = {
    # Burstable general purpose.
    "ml.t2.medium": InstancePrice(0.065, 2, 4),
    "ml.t2.large": InstancePrice(0.13, 2, 8),
    "ml.t2.xlarge": InstancePrice(0.26, 4, 16),
    "ml.t2.2xlarge": InstancePrice(0.52, 8, 32),
    # General purpose.
    "ml.m4.xlarge": InstancePrice(0.28, 4, 16),
    "ml.m4.2xlarge": InstancePrice(0.56, 8, 32),
    "ml.m4.4xlarge": InstancePrice(1.12, 16, 64),
    "ml.m5.large": InstancePrice(0.115, 2, 8),
    "ml.m5.xlarge": InstancePrice(0.23, 4, 16),
    "ml.m5.2xlarge": InstancePrice(0.461, 8, 32),
    "ml.m5.4xlarge": InstancePrice(0.922, 16, 64),
    "ml.m5.12xlarge": InstancePrice(2.765, 48, 192),
    "ml.m6i.large": InstancePrice(0.115, 2, 8),
    "ml.m6i.xlarge": InstancePrice(0.23, 4, 16),
    "ml.m6i.2xlarge": InstancePrice(0.461, 8, 32),
    # Compute optimised.
    "ml.c4.large": InstancePrice(0.14, 2, 3.75),
    "ml.c4.xlarge": InstancePrice(0.279, 4, 7.5),
    "ml.c4.2xlarge": InstancePrice(0.557, 8, 15),
    "ml.c4.4xlarge": InstancePrice(1.114, 16, 30),
    "ml.c5.large": InstancePrice(0.102, 2, 4),
    "ml.c5.xlarge": InstancePrice(0.204, 4, 8),
    "ml.c5.2xlarge": InstancePrice(0.408, 8, 16),
    "ml.c5.4xlarge": InstancePrice(0.816, 16, 32),
    "ml.c5.9xlarge": InstancePrice(1.836, 36, 72),
    "ml.c5.18xlarge": InstancePrice(3.672, 72, 144),
    "ml.c6i.large": InstancePrice(0.102, 2, 4),
    "ml.c6i.xlarge": InstancePrice(0.204, 4, 8),
    "ml.c6i.2xlarge": InstancePrice(0.408, 8, 16),
    "ml.c6i.4xlarge": InstancePrice(0.816, 16, 32),
    # Memory optimised.
    "ml.r5.large": InstancePrice(0.151, 2, 16),
    "ml.r5.xlarge": InstancePrice(0.302, 4, 32),
    # Accelerated.
    "ml.g4dn.xlarge": InstancePrice(0.736, 4, 16),
    "ml.g4dn.2xlarge": InstancePrice(0.94, 8, 32),
    "ml.g4dn.4xlarge": InstancePrice(1.505, 16, 64),
    "ml.g5.xlarge": InstancePrice(1.408, 4, 16),
    "ml.g5.2xlarge": InstancePrice(1.515, 8, 32),
    "ml.p2.xlarge": InstancePrice(1.26, 4, 61),
    "ml.p3.2xlarge": InstancePrice(3.825, 8, 61),
    "ml.inf1.xlarge": InstancePrice(0.297, 4, 8),
    "ml.inf1.2xlarge": InstancePrice(0.471, 8, 16),
}

ON_DEMAND_PRICES: Mapping[str, InstancePrice] = MappingProxyType(_PRICES)
"""Instance type -> approximate us-east-1 on-demand hosting price and size (read-only)."""

DEFAULT_INSTANCE_TYPES: tuple[str, ...] = (
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.c6i.xlarge",
)
"""Instances the simulator benchmarks when neither the job nor the model package names any."""


def instance_price(instance_type: str) -> InstancePrice:
    """Return the price entry for `instance_type`, or raise KeyError naming the known types."""
    try:
        return ON_DEMAND_PRICES[instance_type]
    except KeyError:
        known = ", ".join(sorted(ON_DEMAND_PRICES))
        raise KeyError(
            f"No simulated on-demand price for instance type {instance_type!r}; "
            f"known types: {known}"
        ) from None


def hourly_price(instance_type: str) -> float:
    """Approximate on-demand USD per hour of one `instance_type` hosting instance.

    Raises:
        KeyError: if the instance type is not in the simulator's price table.
    """
    return instance_price(instance_type).hourly_usd


#: Memory sizes a serverless endpoint may have (ProductionVariantServerlessConfig.MemorySizeInMB in the API reference).
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
#: Serverless Inference's compute price in us-east-1, USD per second of a 1 GB (1024 MB) endpoint, scaling with
#: memory (SageMaker pricing page, "Serverless Inference"); as approximate as the instance prices above.
_SERVERLESS_USD_PER_GB_SECOND = 0.00002


def serverless_price_per_second(memory_mb: int) -> float:
    """USD per second of compute of a serverless endpoint with ``memory_mb`` of memory."""
    return _SERVERLESS_USD_PER_GB_SECOND * memory_mb / 1024
