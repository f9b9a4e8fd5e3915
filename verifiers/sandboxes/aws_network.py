"""Can the runner reach the temporary RDS instance? Judged twice, so that a runner outside the VPC fails in
seconds rather than after a 20-minute restore:

1. before the restore is requested, from the APIs: the DB subnet group's VPC and subnets
   (DescribeDBSubnetGroups) and the security groups the instance will get (`security_groups`, else the VPC's
   default group) must accept TCP on the snapshot's port from the runner — `runner_security_group` (a rule
   referencing that group) and/or `runner_cidr` (a rule whose range contains it) (DescribeSecurityGroups);
2. once the instance is available, a TCP connect to its endpoint with a short timeout.

Either failure names the subnet group and subnets, the security groups and the port, and the rule to add.
Routes, network ACLs and peering are not read, nor are managed prefix lists in a rule expanded: the TCP probe is
what proves those (`reachability = "warn"` when a prefix-list rule is what admits the runner).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import ACCESS_DENIED, describe_error, error_code, permission_hint
from verifiers.errors import SandboxError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import IpPermissionOutputTypeDef
    from mypy_boto3_rds import RDSClient

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 5.0
NETWORK_ACTIONS = "ec2:DescribeSecurityGroups, ec2:DescribeVpcs, rds:DescribeDBSubnetGroups"
DOCS = "docs/aws.md: running inside the VPC"
Mode = Literal["fail", "warn", "off"]


@dataclass(frozen=True)
class NetworkSettings:
    store: str
    port: int
    subnet_group: str | None
    security_groups: tuple[str, ...]
    runner_security_group: str | None
    runner_cidr: str | None
    mode: Mode = "fail"


@dataclass(frozen=True)
class Placement:
    """Where the temporary instance goes, as the APIs describe it."""

    vpc: str
    subnet_group: str  # "(none: the default VPC)" when the source names none
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]

    def describe(self, port: int) -> str:
        subnets = ", ".join(self.subnets) or "no subnets listed"
        return (f"subnet group {self.subnet_group} ({subnets}) in {self.vpc}, security group(s) "
                f"{', '.join(self.security_groups)}, port {port}")


@dataclass(frozen=True)
class NetworkReport:
    """What the evidence says about reachability: which checks were made, and how each ended."""

    rules: str  # the security-group check before the restore
    probe: str = "not made: the instance was not available"

    def details(self) -> dict[str, str]:
        return {"reachability_rules": self.rules, "reachability_probe": self.probe}


def check_rules(rds: RDSClient, ec2: EC2Client, settings: NetworkSettings, *,
                endpoint_override: bool = False) -> tuple[NetworkReport, Placement | None]:
    """The security-group check, before anything is created. Raises SandboxError (mode fail) naming subnet
    group, subnets, security groups, port and the rule to add; with mode warn it logs that and goes on."""
    if settings.mode == "off":
        return NetworkReport("not made: reachability = \"off\"", "not made: reachability = \"off\""), None
    if endpoint_override:
        return NetworkReport("not made: the harness connects through endpoint_override, not to the instance's "
                             "security groups directly"), None
    try:
        placement = describe_placement(rds, ec2, settings)
        rules = _ingress(ec2, placement.security_groups)
    except (ClientError, BotoCoreError) as exc:
        return _not_checked(settings, exc), None
    verdict = judge_rules(rules, settings)
    if verdict is None:
        source = (_runner(settings) if settings.runner_security_group or settings.runner_cidr else
                  "some source (no runner_security_group or runner_cidr given: the TCP probe judges this runner)")
        return NetworkReport(f"passed: {placement.describe(settings.port)} accept TCP {settings.port} from "
                             f"{source}"), placement
    message = (f"store {settings.store}: the runner cannot reach the temporary RDS instance: "
               f"{placement.describe(settings.port)}: {verdict}")
    hint = _fix(placement, settings)
    if settings.mode == "warn":
        log.warning("%s (reachability = \"warn\": restoring anyway; %s)", message, hint)
        return NetworkReport(f"warned: {verdict} ({placement.describe(settings.port)})"), placement
    raise SandboxError(message, hint=hint)


def describe_placement(rds: RDSClient, ec2: EC2Client, settings: NetworkSettings) -> Placement:
    if settings.subnet_group:
        group = rds.describe_db_subnet_groups(DBSubnetGroupName=settings.subnet_group)["DBSubnetGroups"][0]
        vpc = str(group.get("VpcId", ""))
        subnets = tuple(str(s.get("SubnetIdentifier", "")) for s in group.get("Subnets", []))
        subnet_group = settings.subnet_group
    else:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        vpc = str(vpcs[0]["VpcId"]) if vpcs else "(no default VPC)"
        subnets, subnet_group = (), "(none set: the default VPC's)"
    groups = settings.security_groups
    if not groups:
        found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                      {"Name": "group-name", "Values": ["default"]}])
        groups = tuple(str(g["GroupId"]) for g in found["SecurityGroups"])
    return Placement(vpc, subnet_group, subnets, groups)


def _ingress(ec2: EC2Client, groups: Sequence[str]) -> list[IpPermissionOutputTypeDef]:
    if not groups:
        return []
    described = ec2.describe_security_groups(GroupIds=list(groups))["SecurityGroups"]
    return [rule for group in described for rule in group.get("IpPermissions", [])]


def judge_rules(rules: Sequence[IpPermissionOutputTypeDef], settings: NetworkSettings) -> str | None:
    """None when some rule accepts TCP on the port from the runner, else what is missing. Without a runner
    given, any source on the port counts (the TCP probe then judges the rest)."""
    on_port = [r for r in rules if _covers_port(r, settings.port)]
    if not on_port:
        return f"no inbound rule accepts TCP {settings.port} at all"
    if settings.runner_security_group is None and settings.runner_cidr is None:
        return None
    for rule in on_port:
        if settings.runner_security_group and any(
                pair.get("GroupId") == settings.runner_security_group for pair in rule.get("UserIdGroupPairs", [])):
            return None
        if settings.runner_cidr and _cidr_within(settings.runner_cidr, rule):
            return None
    return f"no inbound rule accepts TCP {settings.port} from {_runner(settings)}"


def _covers_port(rule: IpPermissionOutputTypeDef, port: int) -> bool:
    protocol = str(rule.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = rule.get("FromPort"), rule.get("ToPort")
    return low is not None and high is not None and (low <= port <= high or (low, high) == (-1, -1))


def _cidr_within(runner: str, rule: IpPermissionOutputTypeDef) -> bool:
    network = ipaddress.ip_network(runner)
    ranges = [r.get("CidrIp", "") for r in rule.get("IpRanges", [])]
    ranges += [r.get("CidrIpv6", "") for r in rule.get("Ipv6Ranges", [])]
    for text in ranges:
        allowed = ipaddress.ip_network(text, strict=False) if text else None
        if allowed is not None and allowed.version == network.version and network.subnet_of(allowed):  # type: ignore[arg-type]
            return True
    return False


def _runner(settings: NetworkSettings) -> str:
    named = [n for n in (settings.runner_security_group, settings.runner_cidr) if n]
    return " or ".join(named) if named else "anywhere (no runner_security_group or runner_cidr given)"


def _fix(placement: Placement, settings: NetworkSettings) -> str:
    group = placement.security_groups[0] if placement.security_groups else "the instance's security group"
    source = (f"--source-group {settings.runner_security_group}" if settings.runner_security_group
              else f"--cidr {settings.runner_cidr}" if settings.runner_cidr else "--source-group <the runner's sg>")
    return (f"add an inbound rule to {group}: TCP {settings.port} from {_runner(settings)} (`aws ec2 "
            f"authorize-security-group-ingress --group-id {group} --protocol tcp --port {settings.port} {source}`), "
            f"or set stores.source.security_groups to a group that has one, and run the harness inside "
            f"{placement.vpc} ({DOCS})")


def _not_checked(settings: NetworkSettings, exc: ClientError | BotoCoreError) -> NetworkReport:
    denied = isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED
    action = _action(exc) if isinstance(exc, ClientError) else NETWORK_ACTIONS
    what = f"permission {action} is missing ({describe_error(exc)})" if denied else describe_error(exc)
    message = f"store {settings.store}: cannot check that the runner reaches the temporary RDS instance: {what}"
    hint = (permission_hint(exc, NETWORK_ACTIONS) if denied else None) or \
        f"check stores.source.subnet_group and security_groups, or set reachability = \"warn\" ({DOCS})"
    if settings.mode == "warn":
        log.warning("%s (reachability = \"warn\": restoring anyway; %s)", message, hint)
        return NetworkReport(f"not made: {describe_error(exc)}")
    raise SandboxError(message, hint=hint)


def _action(exc: ClientError) -> str:
    service = "rds" if exc.operation_name == "DescribeDBSubnetGroups" else "ec2"
    return f"{service}:{exc.operation_name}"


def probe_tcp(host: str, port: int, settings: NetworkSettings, placement: Placement | None, *,
              timeout: float = PROBE_TIMEOUT_SECONDS) -> str:
    """Connect to host:port once (no login). Raises SandboxError (mode fail) naming the network; returns what
    the evidence says."""
    if settings.mode == "off":
        return "not made: reachability = \"off\""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        where = placement.describe(port) if placement else f"port {port}"
        message = (f"store {settings.store}: the runner cannot reach the temporary RDS instance at {host}:{port} "
                   f"within {timeout:g}s ({exc.strerror or exc}): {where}")
        hint = (_fix(placement, dataclasses.replace(settings, port=port)) if placement
                else f"check that the runner reaches that address and port ({DOCS})")
        if settings.mode == "warn":
            log.warning("%s (%s)", message, hint)
            return f"warned: {host}:{port} not reachable ({exc.strerror or exc})"
        raise SandboxError(message, hint=hint) from None
    return f"passed: TCP connect to {host}:{port}"
