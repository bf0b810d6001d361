"""Compressed responses for mobile networks: zstd, brotli or gzip, by `Accept-Encoding`.

A 50-product listing is about 56 KB of JSON and under 6 KB compressed; a phone on a slow
network pays for every byte. Negotiation, `Vary: Accept-Encoding` and the streaming edge
cases come from starlette-compress; this module only chooses what to compress and how
hard. The levels are the measured trade-off of `python -m bench.compression` (size on the
wire against CPU per response, both printed side by side): each costs well under 1 ms of
CPU for the listing. Bodies below the threshold go as they are: compressing an error or a
one-field answer costs more CPU than the bytes it saves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from starlette.applications import Starlette

# GraphQL over HTTP's own media type is not in the library's list of compressible types.
GRAPHQL_RESPONSE = "application/graphql-response+json"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class CompressionSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    enabled: Annotated[bool, Field(validation_alias=_env("GATEWAY_COMPRESSION"))] = True
    minimum_bytes: Annotated[
        int, Field(ge=0, le=10_000_000, validation_alias=_env("GATEWAY_COMPRESSION_MIN_BYTES"))
    ] = 1024
    zstd_level: Annotated[
        int, Field(ge=1, le=19, validation_alias=_env("GATEWAY_COMPRESSION_ZSTD_LEVEL"))
    ] = 6
    brotli_quality: Annotated[
        int, Field(ge=0, le=11, validation_alias=_env("GATEWAY_COMPRESSION_BROTLI_QUALITY"))
    ] = 5
    gzip_level: Annotated[
        int, Field(ge=1, le=9, validation_alias=_env("GATEWAY_COMPRESSION_GZIP_LEVEL"))
    ] = 6


def add_compression(app: Starlette, settings: CompressionSettings) -> None:
    """Answer compressed bodies to clients that accept them (when enabled)."""
    # Imported here: gateway.settings imports this module's settings, and a command that
    # serves nothing (`gateway token`, `gateway migrate`) need not import the middleware.
    from starlette_compress import CompressMiddleware, add_compress_type

    if not settings.enabled:
        return
    add_compress_type(GRAPHQL_RESPONSE)
    app.add_middleware(
        CompressMiddleware,
        minimum_size=settings.minimum_bytes,
        zstd_level=settings.zstd_level,
        brotli_quality=settings.brotli_quality,
        gzip_level=settings.gzip_level,
    )
