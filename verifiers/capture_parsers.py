"""The arguments of `restoreproof capture KIND`, apart from the capture code: declaring them must not import the
store packages (pydantic models, pymongo, boto3), so `restoreproof --help` starts fast (issue 9: under 0.5 s).
Each kind's capture runs from `verifiers.cli._capture`, which imports its module only then."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def add_parser(commands: Any) -> None:
    capture = commands.add_parser("capture", help="dump a live store and write its manifest from one snapshot")
    kinds = capture.add_subparsers(dest="kind", required=True, metavar="KIND")
    pg = kinds.add_parser("postgres", help="pg_dump (custom format) + manifest from one exported snapshot")
    pg.add_argument("--dsn", required=True,
                    help="libpq connection string or URI of the live database (read-only access suffices)")
    pg.add_argument("--out", required=True, type=Path, help="directory for NAME-<stamp>.dump and its manifest")
    pg.add_argument("--name", help="file name prefix (default: the database name)")
    pg.add_argument("--bin-dir", help="directory of the pg_dump to use (default: the newest that fits)")
    rd = kinds.add_parser("redis", help="a consistent RDB (BGSAVE, or redis-cli --rdb) + manifest measured from it")
    source = rd.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="redis://[user:password@]host:port, rediss://… or unix:///path/to.sock")
    source.add_argument("--from-rdb", type=Path, help="an RDB that already exists (e.g. an ElastiCache export)")
    rd.add_argument("--out", required=True, type=Path, help="directory for NAME-<stamp>.rdb and its manifest")
    rd.add_argument("--name", help="file name prefix (default: redis)")
    rd.add_argument("--via", choices=("auto", "dump-file", "redis-cli"), default="auto",
                    help="how to get the RDB: the server's dump file after BGSAVE (a server on this host), "
                    "redis-cli --rdb, or auto (the dump file when local, else redis-cli)")
    rd.add_argument("--bin-dir", help="directory of the Redis/Valkey server to measure the RDB with")
    my = kinds.add_parser("mysql", help="mysqldump/mariadb-dump --single-transaction (.sql.gz) + manifest, "
                          "MySQL, MariaDB, Aurora/RDS MySQL")
    my.add_argument("--dsn", required=True,
                    help="mysql://USER:PASSWORD@HOST:PORT/DATABASE, or key=value pairs (unix_socket=PATH user=... "
                    "database=...); needs SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT and routine bodies")
    my.add_argument("--out", required=True, type=Path, help="directory for NAME-<stamp>.sql.gz and its manifest")
    my.add_argument("--name", help="file name prefix (default: the database name)")
    my.add_argument("--bin-dir", help="directory of the mariadb-dump / mysqldump to use (default: the source "
                    "server's flavour at the nearest release at least its own, beside the servers found or on PATH)")
    _s3(kinds)
    _dynamodb(kinds)
    _mongo(kinds)
    _gcs_and_azure(kinds)


def _s3(kinds: Any) -> None:
    s3 = kinds.add_parser("s3", help="manifest of an S3 bucket/prefix: every key, size and sha256 (reads each object)")
    s3.add_argument("--bucket", required=True)
    s3.add_argument("--prefix", default="", help="only keys under this prefix")
    s3.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    s3.add_argument("--region", help="AWS region (default: the AWS config chain's)")
    s3.add_argument("--endpoint-url", help="AWS API endpoint (default: env AWS_ENDPOINT_URL, else AWS)")


def _dynamodb(kinds: Any) -> None:
    ddb = kinds.add_parser("dynamodb", help="manifest of a DynamoDB table (a full, consistent scan)")
    ddb.add_argument("--table", required=True)
    ddb.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    ddb.add_argument("--backup-name", help="also create an on-demand backup with this name right after the scan")
    ddb.add_argument("--region", help="AWS region (default: the AWS config chain's)")
    ddb.add_argument("--endpoint-url", help="AWS API endpoint (default: env AWS_ENDPOINT_URL, else AWS)")


def _mongo(kinds: Any) -> None:
    mg = kinds.add_parser("mongo", help="mongodump --archive --gzip (or a pymongo export in the same format) + "
                          "manifest measured from the dump")
    source = mg.add_mutually_exclusive_group(required=True)
    source.add_argument("--uri", help="mongodb://USER:PASSWORD@HOST:PORT/[DATABASE]?authSource=admin, or "
                        "mongodb+srv://…; without a database every database is dumped (the user needs the backup role)")
    source.add_argument("--from-dump", type=Path, help="an existing mongodump archive or --out directory: write only "
                        "its manifest, beside it")
    mg.add_argument("--out", type=Path, help="directory for NAME-<stamp>.archive.gz and its manifest (with --uri)")
    mg.add_argument("--name", help="file name prefix (default: the URI's database, else mongo)")
    mg.add_argument("--via", choices=("auto", "mongodump", "pymongo"), default="auto",
                    help="what writes the dump: mongodump, pymongo, or auto (mongodump when installed)")
    mg.add_argument("--bin-dir", help="directory of the mongodump to use (default: RESTOREPROOF_MONGO_BIN_DIR, PATH)")


def _gcs_and_azure(kinds: Any) -> None:
    gcs = kinds.add_parser("gcs", help="manifest of a GCS bucket/prefix: every object name, size and sha256 "
                           "(reads each object; credentials from Application Default Credentials)")
    gcs.add_argument("--bucket", required=True)
    gcs.add_argument("--prefix", default="", help="only objects under this prefix")
    gcs.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
    gcs.add_argument("--project", help="billing project (default: the ADC project)")
    az = kinds.add_parser("azure-blob", help="manifest of an Azure Blob container/prefix: every blob name, size "
                          "and sha256 (AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential)")
    az.add_argument("--account-url", required=True, help="https://ACCOUNT.blob.core.windows.net")
    az.add_argument("--container", required=True)
    az.add_argument("--prefix", default="", help="only blobs under this prefix")
    az.add_argument("--out", required=True, type=Path, help="manifest file to write (JSON)")
