"""Fixtures of the Alipay tests: RSA keys made for the run, one Alipay simulator and one
freshly seeded shop per backend and module, paying through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.checkout_helpers import BACKENDS, Goods, Shop
from tests.gateway.order_ops import order_shop
from tests.payments.alipay_sim import AlipaySimulator, running_alipay
from tests.payments.alipay_steps import alipay_settings
from tests.payments.keys import KeyPair


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, KeyPair]:
    return KeyPair.generate(), KeyPair.generate()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def alipay(keys: tuple[KeyPair, KeyPair], backend: str) -> Iterator[AlipaySimulator]:
    """One simulator per shop, so each shop's bill holds only its own trades."""
    with running_alipay(*keys) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def shop(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    keys: tuple[KeyPair, KeyPair],
    alipay: AlipaySimulator,
) -> Iterator[Shop]:
    yield from order_shop(
        tmp_path_factory, backend, "alipay", payments=alipay_settings(keys, alipay)
    )


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


@pytest.fixture
def provider_up(alipay: AlipaySimulator) -> Iterator[None]:
    alipay.down = alipay.refuse_refunds = False
    yield
    alipay.down = alipay.refuse_refunds = False
