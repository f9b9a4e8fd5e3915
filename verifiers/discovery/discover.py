"""One discovery over the clouds an inventory's `[discovery]` names, and its comparison with the inventory. A cloud
whose client library is not installed is unknown (with the pip extra to install), never empty."""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifiers.discovery.coverage import Coverage, compare
from verifiers.discovery.resources import Discovered, Unknown
from verifiers.discovery.settings import DiscoverySettings

if TYPE_CHECKING:
    from verifiers.inventory import Inventory


def discover(settings: DiscoverySettings) -> Discovered:
    found = Discovered()
    if settings.aws is not None:
        try:
            from verifiers.discovery import aws  # boto3: the `aws` extra
        except ImportError as exc:
            found.unknown.append(Unknown("aws", "all", None, f"{exc}: install restoreproof[aws]"))
        else:
            found.extend(aws.discover_aws(settings.aws))
    if settings.gcp is not None:
        try:
            from verifiers.discovery import gcp  # google-api-python-client, google-cloud-storage: the `gcp` extra
        except ImportError as exc:
            found.unknown.append(Unknown("gcp", "all", None, f"{exc}: install restoreproof[gcp]"))
        else:
            found.extend(gcp.discover_gcp(settings.gcp))
    return found


def default_region(settings: DiscoverySettings) -> str | None:
    """The AWS config chain's region, which AWS sources without `region` restore from; None without AWS."""
    if settings.aws is None:
        return None
    try:
        from verifiers.aws import config_region  # boto3: the `aws` extra
    except ImportError:
        return None  # discover() records AWS as unknown
    return config_region()


def inventory_coverage(inventory: Inventory) -> Coverage | None:
    """The inventory against a fresh discovery; None when it has no `[discovery]`."""
    if inventory.discovery is None:
        return None
    found = discover(inventory.discovery)
    return compare(inventory.stores, inventory.declared, inventory.discovery.ignore, found,
                   default_region(inventory.discovery))
