"""What every builder of the component shares: how a resource is named, tagged and parented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class Scope:
    """One stack's naming and tags, the component that parents every resource, and where
    the stack deploys (account and region, for the ARNs that policies name)."""

    parent: pulumi.Resource
    suffix: str
    cost_center: str
    owner: str
    account: pulumi.Output[str]
    region: pulumi.Output[str]

    def named(self, role: str) -> str:
        """The name of the resource that plays ``role``: ``webhook-{role}-{suffix}``."""
        return f"webhook-{role}-{self.suffix}"

    def tags(self, role: str) -> dict[str, str]:
        """The tags every resource carries, ``Name`` being its name."""
        return {
            "Name": self.named(role),
            "Environment": self.suffix,
            "CostCenter": self.cost_center,
            "Owner": self.owner,
        }

    def child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Resource options that make the resource a child of the component."""
        return pulumi.ResourceOptions(parent=self.parent, **kwargs)
