"""Tracing configuration: the standard OpenTelemetry variables, read with the rest of
``Settings`` (as its ``tracing`` field). Tracing is on only when an OTLP endpoint is set
(and the SDK is not disabled): with none, nothing is instrumented and nothing is paid."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Sampler = Literal[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


def _url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
    return value


class TracingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    # The collector's base URL; spans go to <endpoint>/v1/traces (OTLP/HTTP, protobuf).
    endpoint: Annotated[str | None, Field(validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT"))] = (
        None
    )
    # The full URL for traces alone, used as it is (wins over the endpoint).
    traces_endpoint: Annotated[
        str | None, Field(validation_alias=_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    ] = None
    service_name: Annotated[
        str, Field(min_length=1, max_length=200, validation_alias=_env("OTEL_SERVICE_NAME"))
    ] = "commerce-gateway"
    sampler: Annotated[Sampler, Field(validation_alias=_env("OTEL_TRACES_SAMPLER"))] = (
        "parentbased_always_on"
    )
    sampler_arg: Annotated[
        float, Field(ge=0, le=1, validation_alias=_env("OTEL_TRACES_SAMPLER_ARG"))
    ] = 1.0
    sdk_disabled: Annotated[bool, Field(validation_alias=_env("OTEL_SDK_DISABLED"))] = False
    exporter: Annotated[
        Literal["otlp", "none"], Field(validation_alias=_env("OTEL_TRACES_EXPORTER"))
    ] = "otlp"

    @field_validator("endpoint", "traces_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _url(value)

    @field_validator("sampler", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def enabled(self) -> bool:
        return (
            not self.sdk_disabled
            and self.exporter == "otlp"
            and (self.endpoint is not None or self.traces_endpoint is not None)
        )

    @property
    def traces_url(self) -> str | None:
        if self.traces_endpoint is not None:
            return self.traces_endpoint
        if self.endpoint is None:
            return None
        return self.endpoint.rstrip("/") + "/v1/traces"
