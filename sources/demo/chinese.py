# ruff: noqa: RUF001  (Chinese text: full-width commas and colons are right)
"""The demo shop in Simplified Chinese: names of product kinds, categories, brands and
services, so its products carry a zh-CN name and description next to the English ones
(``products.translations``). A table, not machine translation: the words a buyer in China
would type (耳机, 降噪耳机, 电饭煲)."""

from __future__ import annotations

import re

LANGUAGE = "zh-CN"

NOUNS = {
    "2-in-1 Laptop": "二合一笔记本电脑", "4K Smart TV": "4K智能电视", "5G Smartphone": "5G智能手机",
    "Adjustable Dumbbells": "可调节哑铃", "Air Fryer": "空气炸锅", "Air Purifier": "空气净化器",
    "Area Rug": "地毯", "Bath Towel Set": "浴巾套装", "Bed Frame": "床架",
    "Bike Light Set": "自行车灯套装", "Bluetooth Speaker": "蓝牙音箱", "Bookshelf": "书架",
    "Bookshelf Speakers": "书架音箱", "Camera Phone": "拍照手机", "Camping Stove": "露营炉",
    "Canvas Sneakers": "帆布鞋", "Canvas Tote": "帆布托特包", "Cashmere Cardigan": "羊绒开衫",
    "Ceramic Vase": "陶瓷花瓶", "Cordless Vacuum": "无线吸尘器", "Cotton Sheet Set": "纯棉床单套装",
    "Cotton T-Shirt": "纯棉T恤", "Crossbody Bag": "斜挎包", "Cycling Helmet": "骑行头盔",
    "Dehumidifier": "除湿机", "Desktop Workstation": "台式工作站", "Dining Table": "餐桌",
    "Dishwasher": "洗碗机", "Down Comforter": "羽绒被", "Down Jacket": "羽绒服",
    "Down Sleeping Bag": "羽绒睡袋", "E-Bike": "电动自行车", "Electric Kettle": "电热水壶",
    "Ergonomic Office Chair": "人体工学办公椅", "Espresso Machine": "意式咖啡机",
    "Exercise Bike": "动感单车", "Fleece Hoodie": "抓绒连帽衫", "Foam Roller": "泡沫轴",
    "Foldable Smartphone": "折叠屏手机", "Folding Bike": "折叠自行车",
    "Folding Treadmill": "折叠跑步机",
    "French-Door Refrigerator": "法式多门冰箱", "Front-Load Washing Machine": "滚筒洗衣机",
    "Gaming Headset": "游戏耳机", "Gaming Laptop": "游戏笔记本电脑", "Headlamp": "头灯",
    "Heat-Pump Dryer": "热泵干衣机", "High-Speed Blender": "破壁机", "Hiking Backpack": "登山包",
    "Hiking Boots": "登山鞋", "Induction Cooktop": "电磁炉", "Inverter Air Conditioner": "变频空调",
    "Leather Backpack": "真皮双肩包", "Leather Belt": "真皮腰带", "Leather Loafers": "真皮乐福鞋",
    "Linen Curtains": "亚麻窗帘", "Linen Shirt": "亚麻衬衫", "Memory Foam Pillow": "记忆棉枕头",
    "Merino Sweater": "美利奴羊毛衫", "Microwave Oven": "微波炉", "Mini PC": "迷你主机",
    "Mini Tablet": "迷你平板电脑", "Mini-LED TV": "Mini LED电视",
    "Noise-Cancelling Headphones": "降噪耳机",
    "OLED TV": "OLED电视", "Oil-Filled Heater": "油汀取暖器", "Oxford Shirt": "牛津纺衬衫",
    "Party Speaker": "派对音箱", "Pleated Skirt": "百褶裙", "Puffer Jacket": "棉服",
    "QLED TV": "QLED电视", "Resistance Band Set": "弹力带套装", "Rice Cooker": "电饭煲",
    "Road Bike": "公路自行车", "Robot Vacuum": "扫地机器人", "Running Shoes": "跑步鞋",
    "Scented Candle Set": "香薰蜡烛套装", "Silk Blouse": "真丝衬衫", "Silk Pillowcase": "真丝枕套",
    "Slim-Fit Chinos": "修身休闲裤", "Slip-On Sandals": "一脚蹬凉鞋", "Smart Speaker": "智能音箱",
    "Soundbar": "回音壁音箱", "Soymilk Maker": "豆浆机", "Sport Earbuds": "运动耳机",
    "Standing Desk": "升降桌", "Studio Monitor Headphones": "监听耳机", "TV Stand": "电视柜",
    "Table Lamp": "台灯", "Tablet": "平板电脑", "Three-Seat Sofa": "三人沙发", "Tower Fan": "塔扇",
    "Travel Duffel": "旅行袋", "Trekking Poles": "登山杖",
    "True Wireless Earbuds": "真无线蓝牙耳机",
    "Two-Person Tent": "双人帐篷", "Ultrabook": "轻薄笔记本电脑", "Wall Clock": "挂钟",
    "Weighted Blanket": "重力毯", "Wide-Leg Trousers": "阔腿裤", "Wireless Headphones": "无线耳机",
    "Wool Scarf": "羊毛围巾", "Wrap Dress": "裹身连衣裙", "Yoga Mat": "瑜伽垫",
    "TV Wall-Mount Installation": "电视挂墙安装", "Appliance Installation": "家电安装",
    "Furniture Assembly": "家具组装", "Extended Warranty": "延长保修",
    "Accidental Damage Protection": "意外损坏保障", "Home Electronics Setup": "家庭电子设备调试",
    "Express": "加急", "Weekend": "周末", "Premium": "尊享", "Same-Day": "当日", "Evening": "晚间",
}  # fmt: skip

CATEGORIES = {
    "electronics": "数码电子", "audio": "影音", "headphones": "耳机", "speakers": "音箱",
    "phones-tablets": "手机平板", "computers": "电脑", "tvs": "电视",
    "home-appliances": "家用电器", "kitchen-appliances": "厨房电器", "large-appliances": "大家电",
    "home-comfort": "生活电器", "home-living": "家居生活", "furniture": "家具",
    "bedding-bath": "床品卫浴", "home-decor": "家居装饰", "fashion": "服饰鞋包",
    "mens-clothing": "男装", "womens-clothing": "女装", "shoes": "鞋靴",
    "bags-accessories": "箱包配饰", "sports-outdoors": "运动户外", "fitness": "健身",
    "camping-hiking": "露营徒步", "cycling": "骑行", "services": "服务",
    "installation": "安装服务", "warranty-protection": "保修保障",
}  # fmt: skip

BRANDS = {
    "Sonique": "索尼克", "Northwave": "北浪", "Kestrel": "红隼", "Luminar": "流明",
    "Veltro": "维创", "Quanta Labs": "量子实验室", "Homestead": "家园", "Brisa": "清风",
    "Cookwell": "好厨", "Frostline": "霜线", "Oak & Ivy": "橡木与常春藤", "Nordhaus": "北屋",
    "Softnest": "软巢", "Lumio Home": "路米家居", "Harbor & Co.": "港湾", "Meridian": "子午线",
    "Stride": "阔步", "Linden": "椴木", "Peakline": "峰线", "Trailcraft": "径匠",
    "Velocita": "疾速", "Corefit": "核心健身", "ShopCare": "商城无忧",
}  # fmt: skip

_BY_LENGTH = sorted(NOUNS, key=len, reverse=True)
_PHRASE = re.compile("|".join(re.escape(n) for n in _BY_LENGTH))


def chinese_name(name: str, brand: str | None) -> str:
    """The English name with each known product word in Chinese, the brand in front:
    "Aurora Noise-Cancelling Headphones Pro" by Sonique: "索尼克 Aurora 降噪耳机 Pro"."""
    translated = _PHRASE.sub(lambda found: f" {NOUNS[found.group(0)]} ", name)
    translated = translated.replace(" with ", " 搭配 ").replace(" - ", " ")
    words = " ".join(translated.split())
    return f"{BRANDS[brand]} {words}" if brand in BRANDS else words


def chinese_description(name_zh: str, category_slug: str) -> str:
    category = CATEGORIES.get(category_slug, "")
    return f"{name_zh}，{category}精选好物。正品保障，全国联保，七天无理由退货。"


def category_translations(slug: str) -> dict[str, dict[str, str]]:
    return {LANGUAGE: {"name": CATEGORIES[slug]}} if slug in CATEGORIES else {}


def brand_translations(name: str) -> dict[str, dict[str, str]]:
    return {LANGUAGE: {"name": BRANDS[name]}} if name in BRANDS else {}


# The demo promotions' names and terms as a shop in China words them (满减: "spend X, save Y").
PROMOTIONS = {
    "Welcome offer: 10% off": ("新人专享9折", "首单使用 WELCOME10 享9折。"),
    "Spend ¥500, save ¥50": ("满500减50", "使用 SAVE50，订单满¥500立减¥50。"),
    "VIP 20% off": ("VIP会员8折", "VIP会员全单8折，不与其他优惠同享。"),
    "Audio week: 15% off": ("影音周：85折", "本周耳机、音箱全场85折。"),
    "¥30 off selected kitchen appliances": ("精选厨房电器立减30元", "以下厨房好物每件立减¥30。"),
    "Buy 2, get 1 free on clothing": ("服饰买二送一", "服饰任选两件，第三件最低价商品免单。"),
    "Home upgrade: spend ¥2,000, save 8%": (
        "家居焕新：满2000享92折", "家居生活类商品满¥2,000享92折。"),
    "¥100 off outdoor gear": ("户外装备立减100元", "使用 OUTDOOR100，运动户外装备立减¥100。"),
    "Spring sale: 12% off": ("春季大促88折", "春季大促已结束，下季再会。"),
    "Early bird: ¥20 off": ("早鸟立减20元", "秋季活动开始后使用 EARLYBIRD 立减¥20。"),
    "Flash sale: 25% off (paused)": ("限时抢购75折（已暂停）", "运营团队已暂停的限时抢购。"),
}  # fmt: skip


def promotion_translations(name: str) -> dict[str, dict[str, str]]:
    if name not in PROMOTIONS:
        return {}
    title, terms = PROMOTIONS[name]
    return {LANGUAGE: {"name": title, "description": terms}}
