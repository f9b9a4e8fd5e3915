"""The ARN and tags of the resource a store's AWS source backs up (the `aws` extra), for the AWS Backup APIs that
name resources by ARN: an RDS instance's DBInstanceArn or an Aurora cluster's DBClusterArn (DescribeDBInstances /
DescribeDBClusters), a DynamoDB table's TableArn (DescribeTable), an S3 bucket's arn:aws:s3:::BUCKET (in its
region's partition: arn:aws-cn:s3:::BUCKET in a China region). A denied describe raises SourceError naming the
permission."""

from __future__ import annotations

from typing import Any

import boto3.session
from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import dynamodb_client, s3_client
from verifiers.compliance.aws_points import aws_error, dynamodb_table, rds_origin
from verifiers.store_settings import AnySource, DynamoDbBackupSource, RdsSnapshotSource, S3BucketSource, S3Source

ArnSource = RdsSnapshotSource | DynamoDbBackupSource | S3Source | S3BucketSource


def of_source(source: AnySource) -> ArnSource | None:
    """The source when its resource's ARN can be derived (settings.ARN_SOURCES), else None."""
    return source if isinstance(source, RdsSnapshotSource | DynamoDbBackupSource | S3Source | S3BucketSource) else None


def resource_arn(store: str, source: ArnSource) -> str:
    """The ARN of the instance, cluster, table or bucket the source backs up."""
    if isinstance(source, RdsSnapshotSource):
        raw = rds_origin(source, store=store)
        return str(raw["DBClusterArn"] if source.cluster else raw["DBInstanceArn"])
    if isinstance(source, DynamoDbBackupSource):
        return str(dynamodb_table(source, store=store)["TableArn"])
    return f"arn:{_partition(source.region)}:s3:::{source.bucket}"


def _partition(region: str | None) -> str:
    """aws, aws-cn, aws-us-gov, ... of the source's region (aws when the inventory names none)."""
    return boto3.session.Session().get_partition_for_region(region) if region else "aws"


def resource_tags(store: str, source: ArnSource, arn: str) -> dict[str, str]:
    """The resource's tags (key -> value): RDS TagList, DynamoDB ListTagsOfResource, S3 GetBucketTagging."""
    if isinstance(source, RdsSnapshotSource):
        return _tags(rds_origin(source, store=store).get("TagList") or [])
    if isinstance(source, DynamoDbBackupSource):
        client = dynamodb_client(source.region, source.endpoint_url)
        try:
            pages = client.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
            return _tags([t for page in pages for t in page.get("Tags", [])])
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(store, f"cannot read the tags of table {source.table}", exc,
                            "dynamodb:ListTagsOfResource") from None
    s3 = s3_client(source.region, source.endpoint_url)
    try:
        return _tags(s3.get_bucket_tagging(Bucket=source.bucket).get("TagSet", []))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchTagSet":
            return {}
        raise aws_error(store, f"cannot read the tags of bucket {source.bucket}", exc, "s3:GetBucketTagging") from None
    except BotoCoreError as exc:
        raise aws_error(store, f"cannot read the tags of bucket {source.bucket}", exc, "s3:GetBucketTagging") from None


def _tags(found: list[Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in found}
