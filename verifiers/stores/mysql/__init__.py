"""MySQL, MariaDB and Aurora/RDS MySQL: mysqldump / mariadb-dump SQL artifacts (.sql, .sql.gz) restored into a
local sandbox server, measured, and judged against the manifest captured with them.

RDS MySQL / MariaDB and Aurora MySQL *snapshots* (storage-level, not dumps) come in through the `rds-snapshot`
source: AWS restores them into a temporary instance and this kind measures it the same way (`measure_connected`,
see snapshot.py) against the manifest captured when the snapshot was taken.


The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
