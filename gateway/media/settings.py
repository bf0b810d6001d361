"""Media configuration, read from the environment with the rest of ``Settings`` (its
``media`` field). Credentials for S3 come from boto3's own chain (AWS_ACCESS_KEY_ID, a
profile, an instance role), never from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class StorageKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class MediaSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    storage: Annotated[StorageKind, Field(validation_alias=_env("MEDIA_STORAGE"))] = (
        StorageKind.LOCAL
    )
    root: Annotated[str, Field(min_length=1, validation_alias=_env("MEDIA_ROOT"))] = "./data/media"
    s3_bucket: Annotated[str | None, Field(validation_alias=_env("MEDIA_S3_BUCKET"))] = None
    s3_endpoint_url: Annotated[
        str | None, Field(validation_alias=_env("MEDIA_S3_ENDPOINT_URL"))
    ] = None
    s3_region: Annotated[str, Field(validation_alias=_env("MEDIA_S3_REGION"))] = "us-east-1"
    s3_prefix: Annotated[
        str, Field(pattern=r"^[a-z0-9/_-]*$", validation_alias=_env("MEDIA_S3_PREFIX"))
    ] = ""
    public_url: Annotated[str | None, Field(validation_alias=_env("MEDIA_PUBLIC_URL"))] = None
    max_upload_bytes: Annotated[
        int, Field(ge=1024, le=100_000_000, validation_alias=_env("MEDIA_MAX_UPLOAD_BYTES"))
    ] = 10_000_000
    max_pixels: Annotated[
        int, Field(ge=10_000, le=200_000_000, validation_alias=_env("MEDIA_MAX_PIXELS"))
    ] = 40_000_000
    fetch_timeout_seconds: Annotated[
        float, Field(gt=0, le=120, validation_alias=_env("MEDIA_FETCH_TIMEOUT_SECONDS"))
    ] = 10.0
    fetch_allow_private: Annotated[
        bool, Field(validation_alias=_env("MEDIA_FETCH_ALLOW_PRIVATE"))
    ] = False
