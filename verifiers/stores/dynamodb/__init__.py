"""DynamoDB: a backup restored by AWS into a temporary table, judged by item count, an order-independent
checksum of the items and the key schema, against the manifest captured with the backup.

Phases: provision = the restore request, restore = waiting until the table is ACTIVE, verify = the scan,
teardown = deleting the table.


The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
