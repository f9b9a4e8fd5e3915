"""One package per data store kind (verifiers/stores/<kind>/), listed once in verifiers/stores/registry.py.

What every kind shares (the plan, the kind protocol, the plan's common checks) is in verifiers/stores/base.py;
this package's own module stays empty, so that importing one of a kind's modules imports nothing else."""
