"""`restoreproof doctor` and the inventory's `[discovery]`: offline, that discovery is configured, what it lists
where, and the permissions that takes (discovery/permissions.py); with `probe`, one discovery (discovery/discover.py,
each configured service listed once per region or project) and each service it could not list, with the missing
permission. An unknown service fails every run's coverage check, so here it is a failure too."""

from __future__ import annotations

from verifiers.diagnosis import Finding, fail, ok
from verifiers.discovery.discover import discover
from verifiers.discovery.permissions import needed
from verifiers.discovery.report import FOUND_NOTHING
from verifiers.discovery.settings import DiscoverySettings
from verifiers.doctor.cloud import extra_finding


def discovery_findings(settings: DiscoverySettings | None, *, probe: bool) -> list[Finding]:
    if settings is None:
        return []
    wanted = needed(settings)
    clouds = list(dict.fromkeys(n.cloud for n in wanted))
    findings = [ok("discovery", f"configured: {', '.join(f'{n.cloud} {n.service}' for n in wanted)}; every run "
                   "compares the inventory with what they hold")]
    findings += [ok("permissions", n.describe()) for n in wanted]
    missing = [f for f in (extra_finding(cloud, f"[discovery.{cloud}]") for cloud in clouds) if f is not None]
    if missing or not probe:
        return [*findings, *missing, *([] if probe else [ok("listing", "not tried (--probe lists each service "
                                                              "once per region or project)")])]
    found = discover(settings)
    for unknown in found.unknown:  # a denial's description names the permission and whom to grant it
        findings.append(fail("listing", unknown.describe(), None if unknown.permission else
                             "check the credentials, region and endpoint discovery uses"))
    if not found.unknown and not found.resources:  # every run's coverage check would compare nothing
        findings.append(fail("listing", f"every service listed, but {FOUND_NOTHING}",
                             "a wrong region, or filters that match nothing: `restoreproof inventory discover` shows "
                             "what is listed"))
    elif not found.unknown:
        count = len(found.resources)
        findings.append(ok("listing", f"every service listed: {count} production resource{'s' if count != 1 else ''} "
                           "found"))
    return findings
