"""Where image bytes live: one small interface, the local filesystem by default and any
S3-compatible object store for a deployment with more than one gateway process.

Keys are relative paths of lowercase letters, digits, '/', '_', '-' and '.', never '..'
(checked before any storage sees them), so a key can never escape its root or bucket.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from .settings import MediaSettings, StorageKind

KEY = re.compile(r"^[a-z0-9_-]+(?:/[a-z0-9_.-]+)*$")


def is_valid_key(key: str) -> bool:
    return len(key) <= 300 and bool(KEY.match(key)) and ".." not in key


class MediaStorage(Protocol):
    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def delete_prefix(self, prefix: str) -> None:
        """Drop one object, or (``prefix`` ending in '/') every object under it."""


class LocalStorage:
    """Files under a root directory; a put is atomic (written aside, then renamed), so a
    reader never sees half an image."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise ValueError(f"invalid media key {key!r}")
        return self.root / key

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return await asyncio.to_thread(_read, path)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(_write, self._path(key), data)

    async def delete_prefix(self, prefix: str) -> None:
        await asyncio.to_thread(_delete_prefix, self.root, prefix)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(aside, path)
    except BaseException:
        Path(aside).unlink(missing_ok=True)
        raise


def _delete_prefix(root: Path, prefix: str) -> None:
    """Keys are paths here: a prefix is one key, or a folder of them ("derived/<key>/")."""
    target = root / prefix.rstrip("/")
    if not is_valid_key(prefix.rstrip("/")):
        raise ValueError(f"invalid media key {prefix!r}")
    if target.is_dir():
        shutil.rmtree(target, ignore_errors=True)
    else:
        target.unlink(missing_ok=True)


class S3Storage:
    """An S3-compatible bucket through boto3 (run in threads: boto3 blocks)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, key: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"invalid media key {key!r}")
        return self.prefix + key

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                found = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.NoSuchKey:
                return None
            body: bytes = found["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
        )

    async def delete_prefix(self, prefix: str) -> None:
        def delete() -> None:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

        await asyncio.to_thread(delete)


def build_storage(settings: MediaSettings) -> MediaStorage:
    if settings.storage is StorageKind.LOCAL:
        return LocalStorage(settings.root)
    import boto3

    if not settings.s3_bucket:
        raise ValueError("MEDIA_S3_BUCKET must be set when MEDIA_STORAGE=s3")
    client = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region
    )
    return S3Storage(client, settings.s3_bucket, settings.s3_prefix)
