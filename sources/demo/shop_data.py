"""The demo shop's fixed facts: where it delivers, its warehouses, its staff accounts and
the names its customers are drawn from. ``DEMO_STAFF`` is public: the README and the
``gateway token`` command list these accounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CURRENCY = "CNY"
COUNTRY = "CN"


@dataclass(frozen=True, slots=True)
class RegionInfo:
    code: str
    name: str
    city: str
    postal_code: str
    shipping_rate: Decimal | None  # None: the shop does not deliver there


def _region(code: str, name: str, city: str, postal: str, rate: str | None) -> RegionInfo:
    return RegionInfo(code, name, city, postal, Decimal(rate) if rate else None)


# Mainland China's province-level divisions (ISO 3166-2:CN codes). Rates grow with the
# distance from the eastern warehouses; the far west is not served.
REGIONS: tuple[RegionInfo, ...] = (
    _region("CN-SH", "Shanghai", "Shanghai", "200000", "10.00"),
    _region("CN-BJ", "Beijing", "Beijing", "100000", "10.00"),
    _region("CN-GD", "Guangdong", "Guangzhou", "510000", "10.00"),
    _region("CN-ZJ", "Zhejiang", "Hangzhou", "310000", "10.00"),
    _region("CN-JS", "Jiangsu", "Nanjing", "210000", "10.00"),
    _region("CN-TJ", "Tianjin", "Tianjin", "300000", "10.00"),
    _region("CN-AH", "Anhui", "Hefei", "230000", "12.00"),
    _region("CN-FJ", "Fujian", "Fuzhou", "350000", "12.00"),
    _region("CN-SD", "Shandong", "Jinan", "250000", "12.00"),
    _region("CN-HE", "Hebei", "Shijiazhuang", "050000", "12.00"),
    _region("CN-HB", "Hubei", "Wuhan", "430000", "12.00"),
    _region("CN-HA", "Henan", "Zhengzhou", "450000", "15.00"),
    _region("CN-HN", "Hunan", "Changsha", "410000", "15.00"),
    _region("CN-JX", "Jiangxi", "Nanchang", "330000", "15.00"),
    _region("CN-SX", "Shanxi", "Taiyuan", "030000", "15.00"),
    _region("CN-LN", "Liaoning", "Shenyang", "110000", "15.00"),
    _region("CN-CQ", "Chongqing", "Chongqing", "400000", "15.00"),
    _region("CN-SC", "Sichuan", "Chengdu", "610000", "15.00"),
    _region("CN-GX", "Guangxi", "Nanning", "530000", "15.00"),
    _region("CN-HI", "Hainan", "Haikou", "570000", "18.00"),
    _region("CN-JL", "Jilin", "Changchun", "130000", "18.00"),
    _region("CN-HL", "Heilongjiang", "Harbin", "150000", "18.00"),
    _region("CN-GZ", "Guizhou", "Guiyang", "550000", "18.00"),
    _region("CN-YN", "Yunnan", "Kunming", "650000", "18.00"),
    _region("CN-SN", "Shaanxi", "Xi'an", "710000", "18.00"),
    _region("CN-NM", "Inner Mongolia", "Hohhot", "010000", "22.00"),
    _region("CN-GS", "Gansu", "Lanzhou", "730000", "25.00"),
    _region("CN-NX", "Ningxia", "Yinchuan", "750000", "25.00"),
    _region("CN-QH", "Qinghai", "Xining", "810000", None),
    _region("CN-XJ", "Xinjiang", "Urumqi", "830000", None),
    _region("CN-XZ", "Tibet", "Lhasa", "850000", None),
)
DELIVERABLE_REGIONS = tuple(r for r in REGIONS if r.shipping_rate is not None)


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    id: int
    code: str
    name: str
    region_code: str
    priority: int  # lower ships first


WAREHOUSES: tuple[WarehouseInfo, ...] = (
    WarehouseInfo(1, "SH-01", "Shanghai Central Warehouse", "CN-SH", 1),
    WarehouseInfo(2, "BJ-01", "Beijing North Warehouse", "CN-BJ", 2),
    WarehouseInfo(3, "GZ-01", "Guangzhou South Warehouse", "CN-GD", 3),
)


STAFF_PERMISSIONS = (
    "MANAGE_PRODUCTS",
    "MANAGE_PRICES",
    "MANAGE_STOCK",
    "MANAGE_ORDERS",
    "MANAGE_AFTER_SALES",
    "VIEW_FINANCE",
    "MANAGE_CUSTOMERS",
)


@dataclass(frozen=True, slots=True)
class DemoStaffMember:
    email: str
    name: str
    permissions: tuple[str, ...]


DEMO_STAFF: tuple[DemoStaffMember, ...] = (
    DemoStaffMember("admin@example.com", "Demo Administrator", STAFF_PERMISSIONS),
    DemoStaffMember(
        "catalog@example.com", "Demo Merchandiser", ("MANAGE_PRODUCTS", "MANAGE_PRICES")
    ),
    DemoStaffMember("stock@example.com", "Demo Stock Controller", ("MANAGE_STOCK",)),
    DemoStaffMember(
        "support@example.com",
        "Demo Support Agent",
        ("MANAGE_ORDERS", "MANAGE_AFTER_SALES", "MANAGE_CUSTOMERS"),
    ),
    DemoStaffMember("finance@example.com", "Demo Finance Analyst", ("VIEW_FINANCE",)),
)

DEMO_CUSTOMER_COUNT = 50
BLOCKED_CUSTOMER_EMAIL = f"customer{DEMO_CUSTOMER_COUNT}@example.com"


def demo_customer_email(number: int) -> str:
    """``customer1@example.com`` .. ``customer50@example.com``; the last one is blocked."""
    return f"customer{number}@example.com"


# customer1..3 live where the warehouses (and installers) are, so the obvious demo logins
# can buy everything, installation included; customer4 and 5 may find a service unavailable.
FIRST_CUSTOMER_REGIONS = ("CN-SH", "CN-BJ", "CN-GD", "CN-ZJ", "CN-JS")

SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo",
)  # fmt: skip
GIVEN_NAMES = (
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Jie", "Tao", "Ming",
    "Xiuying", "Hao", "Yan", "Chao", "Juan", "Qiang", "Lin", "Ting", "Bo", "Xin",
)  # fmt: skip
STREETS = (
    "Renmin Road", "Zhongshan Road", "Jiefang Avenue", "Heping Street", "Jianshe Road",
    "Xinhua Road", "Wenhua Road", "Dongfeng Road", "Changjiang Road", "Huaihai Road",
)  # fmt: skip
MOBILE_PREFIXES = ("138", "139", "150", "158", "186", "188", "135", "177")
