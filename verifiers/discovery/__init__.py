"""Inventory completeness: the production stores the cloud accounts hold, found through their APIs, compared with
the inventory (`restoreproof inventory discover`, and every run's `coverage`).

One job per module: settings (the inventory's `[discovery]`, `[[discovery.ignore]]` and `[[declared]]` tables, and
the SOP record every store carries), resources (what discovery finds, and what it could not look at), aws and gcp
(the listing, per service and region), coverage (the comparison with the inventory), report (the command's table
and JSON) and run (the run-level checks a restore run records).
"""
