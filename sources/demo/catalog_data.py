"""What the demo shop sells: the category tree, the product lines of its leaf categories,
brands, suppliers and services. Plain data; ``sources.demo.products`` draws from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CategoryNode:
    slug: str
    name: str
    children: tuple[CategoryNode, ...] = ()


@dataclass(frozen=True, slots=True)
class Variants:
    """How a line's SKUs differ. Ordered axes (sizes, capacities) take a consecutive run
    and, with ``price_step``, cost more along it; unordered ones (colours) take any mix."""

    options: tuple[str, ...]
    is_ordered: bool = False
    price_step: float = 0.0
    axis: str = "Colour"  # the option's name on the product page


@dataclass(frozen=True, slots=True)
class ProductLine:
    """What a leaf category sells: product nouns with a list-price range in CNY."""

    category: str  # slug of a leaf CategoryNode
    code: str  # SKU code prefix
    nouns: tuple[tuple[str, int, int], ...]
    variants: Variants
    features: tuple[str, ...]  # noun phrases: "<name> with <one> and <another>."
    brands: tuple[str, ...]
    weight: int  # share of the catalogue
    has_models: bool = False  # "Pro", "Max", ... suffixes read naturally
    is_installable: bool = False  # a bundle may pair it with an installation service
    is_dropship_eligible: bool = False


@dataclass(frozen=True, slots=True)
class ServiceOffer:
    name: str
    category: str
    code: str
    price_range: tuple[int, int]
    tiers: tuple[str, ...]
    installs: tuple[str, ...]  # categories of the products it installs; empty for warranties
    description: str
    region_count: tuple[int, int]


CATEGORY_TREE: tuple[CategoryNode, ...] = (
    CategoryNode(
        "electronics",
        "Electronics",
        (
            CategoryNode(
                "audio",
                "Audio",
                (CategoryNode("headphones", "Headphones"), CategoryNode("speakers", "Speakers")),
            ),
            CategoryNode("phones-tablets", "Phones & Tablets"),
            CategoryNode("computers", "Computers"),
            CategoryNode("tvs", "TVs"),
        ),
    ),
    CategoryNode(
        "home-appliances",
        "Home Appliances",
        (
            CategoryNode("kitchen-appliances", "Kitchen Appliances"),
            CategoryNode("large-appliances", "Large Appliances"),
            CategoryNode("home-comfort", "Home Comfort"),
        ),
    ),
    CategoryNode(
        "home-living",
        "Home & Living",
        (
            CategoryNode("furniture", "Furniture"),
            CategoryNode("bedding-bath", "Bedding & Bath"),
            CategoryNode("home-decor", "Home Decor"),
        ),
    ),
    CategoryNode(
        "fashion",
        "Fashion",
        (
            CategoryNode("mens-clothing", "Men's Clothing"),
            CategoryNode("womens-clothing", "Women's Clothing"),
            CategoryNode("shoes", "Shoes"),
            CategoryNode("bags-accessories", "Bags & Accessories"),
        ),
    ),
    CategoryNode(
        "sports-outdoors",
        "Sports & Outdoors",
        (
            CategoryNode("fitness", "Fitness"),
            CategoryNode("camping-hiking", "Camping & Hiking"),
            CategoryNode("cycling", "Cycling"),
        ),
    ),
    CategoryNode(
        "services",
        "Services",
        (
            CategoryNode("installation", "Installation"),
            CategoryNode("warranty-protection", "Warranty & Protection"),
        ),
    ),
)

SERIES = (
    "Aurora", "Nimbus", "Zephyr", "Orion", "Nova", "Vega", "Atlas", "Echo", "Lumen",
    "Terra", "Summit", "Harbor", "Willow", "Cedar", "Coral", "Sierra", "Pulse", "Apex",
    "Drift", "Breeze", "Ember", "Halo", "Juniper", "Polar", "Solstice", "Tundra", "Meadow",
    "Quartz", "Cobalt", "Sable", "Aspen", "Mistral",
)  # fmt: skip
MODEL_SUFFIXES = ("", "", "", " Pro", " Lite", " Max", " Mini", " Plus", " 2", " 3", " S", " X")

COLOUR_NAMES = (
    "Black", "White", "Silver", "Graphite", "Midnight Blue", "Forest Green",
    "Rose Pink", "Sand Beige", "Crimson Red", "Sky Blue",
)  # fmt: skip
COLOURS = Variants(COLOUR_NAMES)
APPLIANCE_FINISHES = Variants(("White", "Silver", "Graphite", "Champagne Gold"), axis="Finish")
WOOD_FINISHES = Variants(("Natural Oak", "Walnut", "White Ash", "Black Ash", "Teak"), axis="Finish")
STORAGE = Variants(
    ("128 GB", "256 GB", "512 GB", "1 TB"), is_ordered=True, price_step=0.15, axis="Storage"
)
LAPTOP_CONFIGS = Variants(
    ("16 GB / 512 GB", "16 GB / 1 TB", "32 GB / 1 TB", "32 GB / 2 TB"),
    is_ordered=True,
    price_step=0.12,
    axis="Memory / Storage",
)
SCREEN_SIZES = Variants(
    ("43-inch", "55-inch", "65-inch", "75-inch", "85-inch"),
    is_ordered=True,
    price_step=0.35,
    axis="Screen Size",
)
BED_SIZES = Variants(
    ("Single", "Double", "Queen", "King"), is_ordered=True, price_step=0.15, axis="Size"
)
MEN_SIZES = Variants(("S", "M", "L", "XL", "XXL"), is_ordered=True, axis="Size")
WOMEN_SIZES = Variants(("XS", "S", "M", "L", "XL"), is_ordered=True, axis="Size")
SHOE_SIZES = Variants(tuple(f"EU {n}" for n in range(36, 46)), is_ordered=True, axis="Size")

ELECTRONICS_BRANDS = ("Sonique", "Northwave", "Kestrel", "Luminar", "Veltro", "Quanta Labs")
APPLIANCE_BRANDS = ("Homestead", "Brisa", "Cookwell", "Frostline")
LIVING_BRANDS = ("Oak & Ivy", "Nordhaus", "Softnest", "Lumio Home")
FASHION_BRANDS = ("Harbor & Co.", "Meridian", "Stride", "Linden")
SPORTS_BRANDS = ("Peakline", "Trailcraft", "Velocita", "Corefit")
SERVICE_BRAND = "ShopCare"
BRANDS = (
    *ELECTRONICS_BRANDS,
    *APPLIANCE_BRANDS,
    *LIVING_BRANDS,
    *FASHION_BRANDS,
    *SPORTS_BRANDS,
    SERVICE_BRAND,
)

SUPPLIERS = (
    "Shenzhen Brightway Trading Co.",
    "Yiwu Direct Goods Ltd.",
    "Hangzhou Home Supply Co.",
    "Xiamen Outdoor Outfitters",
)

PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine(
        "headphones", "HP",
        (("Wireless Headphones", 199, 2499), ("Noise-Cancelling Headphones", 599, 2999),
         ("True Wireless Earbuds", 99, 1899), ("Sport Earbuds", 99, 699),
         ("Studio Monitor Headphones", 399, 1999), ("Gaming Headset", 199, 1299)),
        COLOURS,
        ("up to 40 hours of playback", "adaptive noise cancelling",
         "multipoint pairing with two devices", "a fold-flat design for travel",
         "memory-foam cushions for all-day comfort"),
        ELECTRONICS_BRANDS, 9, has_models=True,
    ),
    ProductLine(
        "speakers", "SPK",
        (("Bluetooth Speaker", 129, 1499), ("Smart Speaker", 199, 1999), ("Soundbar", 699, 4999),
         ("Bookshelf Speakers", 499, 3999), ("Party Speaker", 599, 2999)),
        COLOURS,
        ("clear, room-filling sound", "IPX7 splash protection", "20 hours of battery life",
         "built-in voice control", "stereo pairing with a second speaker"),
        ELECTRONICS_BRANDS, 6, has_models=True,
    ),
    ProductLine(
        "phones-tablets", "PHN",
        (("5G Smartphone", 999, 6999), ("Foldable Smartphone", 5999, 12999),
         ("Camera Phone", 2999, 7999), ("Tablet", 1299, 6999), ("Mini Tablet", 999, 3999)),
        STORAGE,
        ("a 120 Hz OLED display", "a triple camera that shines in low light",
         "a 50% charge in 15 minutes", "IP68 dust and water resistance",
         "five years of security updates"),
        ELECTRONICS_BRANDS, 8, has_models=True,
    ),
    ProductLine(
        "computers", "PC",
        (("Ultrabook", 4999, 11999), ("Gaming Laptop", 5999, 14999),
         ("2-in-1 Laptop", 3999, 8999), ("Mini PC", 1999, 5999),
         ("Desktop Workstation", 6999, 15999)),
        LAPTOP_CONFIGS,
        ("a body of just over a kilogram", "all-day battery life",
         "cool, quiet running under load", "support for two 4K monitors",
         "a backlit full-size keyboard"),
        ELECTRONICS_BRANDS, 6, has_models=True,
    ),
    ProductLine(
        "tvs", "TV",
        (("4K Smart TV", 1299, 4999), ("OLED TV", 3999, 9999), ("Mini-LED TV", 2999, 7999),
         ("QLED TV", 1999, 5999)),
        SCREEN_SIZES,
        ("deep blacks and vivid HDR colour", "a 120 Hz panel for smooth sport and games",
         "every major streaming app built in", "a slim, near-bezel-less frame",
         "a picture that adapts to the room's light"),
        ELECTRONICS_BRANDS, 5, has_models=True, is_installable=True,
    ),
    ProductLine(
        "kitchen-appliances", "KIT",
        (("Air Fryer", 199, 999), ("Rice Cooker", 199, 1599), ("Espresso Machine", 899, 5999),
         ("High-Speed Blender", 299, 1999), ("Electric Kettle", 99, 499),
         ("Soymilk Maker", 199, 899), ("Induction Cooktop", 199, 1299),
         ("Microwave Oven", 399, 2499)),
        COLOURS,
        ("dishwasher-safe parts", "twelve one-touch programmes", "fast, even heating",
         "a compact countertop footprint", "automatic shut-off"),
        APPLIANCE_BRANDS, 8, has_models=True,
    ),
    ProductLine(
        "large-appliances", "APL",
        (("Front-Load Washing Machine", 1999, 6999), ("French-Door Refrigerator", 3999, 15999),
         ("Inverter Air Conditioner", 2499, 8999), ("Dishwasher", 2999, 7999),
         ("Heat-Pump Dryer", 3499, 8999)),
        APPLIANCE_FINISHES,
        ("a first-grade energy-efficiency rating", "whisper-quiet running for open-plan homes",
         "app control from your phone", "a fingerprint-resistant finish",
         "a ten-year motor warranty"),
        APPLIANCE_BRANDS, 5, has_models=True, is_installable=True,
    ),
    ProductLine(
        "home-comfort", "CMF",
        (("Air Purifier", 599, 3999), ("Dehumidifier", 799, 2999), ("Tower Fan", 199, 999),
         ("Robot Vacuum", 999, 4999), ("Cordless Vacuum", 699, 3999),
         ("Oil-Filled Heater", 299, 999)),
        COLOURS,
        ("a whisper-quiet night mode", "app and voice control", "an energy-saving eco mode",
         "a 12-hour timer", "a light, easy-to-move design"),
        APPLIANCE_BRANDS, 6, has_models=True,
    ),
    ProductLine(
        "furniture", "FUR",
        (("Ergonomic Office Chair", 699, 4999), ("Standing Desk", 1299, 4999),
         ("Three-Seat Sofa", 2999, 12999), ("Dining Table", 1499, 7999), ("Bookshelf", 399, 1999),
         ("Bed Frame", 1299, 6999), ("TV Stand", 499, 2499)),
        WOOD_FINISHES,
        ("solid, responsibly sourced wood", "assembly in under an hour",
         "a stain-resistant finish", "a tested load of 150 kg", "a ten-year frame guarantee"),
        LIVING_BRANDS, 7, is_installable=True, is_dropship_eligible=True,
    ),
    ProductLine(
        "bedding-bath", "BED",
        (("Down Comforter", 399, 2999), ("Cotton Sheet Set", 199, 1299),
         ("Silk Pillowcase", 99, 599), ("Memory Foam Pillow", 99, 699),
         ("Weighted Blanket", 299, 1299), ("Bath Towel Set", 79, 499)),
        BED_SIZES,
        ("long-staple cotton", "a cool, breathable weave for summer nights",
         "easy machine washing", "certified low-chemical materials",
         "a softness that grows with every wash"),
        LIVING_BRANDS, 5, is_dropship_eligible=True,
    ),
    ProductLine(
        "home-decor", "DEC",
        (("Ceramic Vase", 59, 599), ("Table Lamp", 149, 1299), ("Wall Clock", 79, 599),
         ("Scented Candle Set", 39, 299), ("Linen Curtains", 199, 1299), ("Area Rug", 299, 2999)),
        COLOURS,
        ("handmade craftsmanship from small workshops", "natural materials",
         "a look that suits modern and classic rooms alike", "free gift wrapping",
         "a warm, timeless finish"),
        LIVING_BRANDS, 5, is_dropship_eligible=True,
    ),
    ProductLine(
        "mens-clothing", "MEN",
        (("Oxford Shirt", 149, 699), ("Slim-Fit Chinos", 199, 799), ("Merino Sweater", 299, 1299),
         ("Down Jacket", 599, 2999), ("Cotton T-Shirt", 59, 299), ("Fleece Hoodie", 199, 699),
         ("Linen Shirt", 199, 799)),
        MEN_SIZES,
        ("a modern, relaxed fit", "breathable organic cotton",
         "a shape that lasts wash after wash", "easy layering through the seasons",
         "reinforced seams"),
        FASHION_BRANDS, 6, is_dropship_eligible=True,
    ),
    ProductLine(
        "womens-clothing", "WOM",
        (("Wrap Dress", 299, 1499), ("Cashmere Cardigan", 599, 2499),
         ("Wide-Leg Trousers", 199, 899), ("Silk Blouse", 399, 1599), ("Puffer Jacket", 599, 2499),
         ("Cotton T-Shirt", 59, 299), ("Pleated Skirt", 199, 899)),
        WOMEN_SIZES,
        ("a beautifully draping cut", "breathable organic cotton", "a soft full lining",
         "an office-to-evening look", "hidden side pockets"),
        FASHION_BRANDS, 6, is_dropship_eligible=True,
    ),
    ProductLine(
        "shoes", "SHO",
        (("Running Shoes", 399, 1499), ("Leather Loafers", 499, 1999),
         ("Canvas Sneakers", 129, 599), ("Hiking Boots", 599, 1899), ("Slip-On Sandals", 99, 499)),
        SHOE_SIZES,
        ("a cushioned, responsive sole", "breathable uppers", "a grippy sole for wet streets",
         "almost no break-in time", "a removable orthotic insole"),
        FASHION_BRANDS, 5, is_dropship_eligible=True,
    ),
    ProductLine(
        "bags-accessories", "BAG",
        (("Leather Backpack", 499, 2999), ("Travel Duffel", 299, 1499),
         ("Crossbody Bag", 199, 1299), ("Wool Scarf", 99, 599), ("Leather Belt", 99, 499),
         ("Canvas Tote", 49, 299)),
        COLOURS,
        ("vegetable-tanned leather trim", "a water-resistant finish",
         "a timeless, minimal design", "a lifetime stitching guarantee", "a gift box"),
        FASHION_BRANDS, 5, is_dropship_eligible=True,
    ),
    ProductLine(
        "fitness", "FIT",
        (("Yoga Mat", 59, 399), ("Adjustable Dumbbells", 499, 2999),
         ("Folding Treadmill", 1999, 6999), ("Resistance Band Set", 39, 199),
         ("Exercise Bike", 1499, 5999), ("Foam Roller", 39, 199)),
        COLOURS,
        ("a space-saving fold-away design", "a non-slip, sweat-proof finish",
         "workout tracking in the companion app", "a build made for daily training",
         "quiet running for apartments"),
        SPORTS_BRANDS, 5, is_dropship_eligible=True,
    ),
    ProductLine(
        "camping-hiking", "CMP",
        (("Two-Person Tent", 399, 2499), ("Down Sleeping Bag", 499, 2499),
         ("Trekking Poles", 149, 799), ("Camping Stove", 129, 699), ("Hiking Backpack", 299, 1999),
         ("Headlamp", 59, 399)),
        COLOURS,
        ("a weight under one kilogram", "three-season performance", "a compact stuff sack",
         "protection from wind and rain", "a lifetime repair service"),
        SPORTS_BRANDS, 5, is_dropship_eligible=True,
    ),
    ProductLine(
        "cycling", "CYC",
        (("Road Bike", 2999, 14999), ("Folding Bike", 1299, 4999), ("E-Bike", 2999, 9999),
         ("Cycling Helmet", 199, 1299), ("Bike Light Set", 79, 499)),
        COLOURS,
        ("a light aluminium build", "national safety certification",
         "reflective details for night riding", "a two-year warranty", "a choice of bold colours"),
        SPORTS_BRANDS, 4, is_dropship_eligible=True,
    ),
)  # fmt: skip

SERVICE_OFFERS: tuple[ServiceOffer, ...] = (
    ServiceOffer(
        "TV Wall-Mount Installation", "installation", "INS-TV", (199, 399),
        ("Standard", "With Cable Concealment"), ("tvs",),
        "A certified technician mounts your TV, tunes the picture and takes the packaging away.",
        (4, 8),
    ),
    ServiceOffer(
        "Appliance Installation", "installation", "INS-APL", (149, 299),
        ("Standard", "Including Old Appliance Removal"), ("large-appliances",),
        "We connect, level and test your new appliance, and show you how to use it.",
        (4, 8),
    ),
    ServiceOffer(
        "Furniture Assembly", "installation", "INS-FUR", (99, 399),
        ("Standard",), ("furniture",),
        "Our team assembles your furniture in the room of your choice and checks every joint.",
        (4, 8),
    ),
    ServiceOffer(
        "Extended Warranty", "warranty-protection", "WAR-EXT", (99, 699),
        ("1 Year", "2 Years", "3 Years"), (),
        "Extends the manufacturer's warranty: repairs at no cost, with free collection and return.",
        (8, 15),
    ),
    ServiceOffer(
        "Accidental Damage Protection", "warranty-protection", "WAR-ADP", (149, 999),
        ("1 Year", "2 Years"), (),
        "Covers drops, spills and cracked screens, with up to two repairs a year.",
        (8, 15),
    ),
    ServiceOffer(
        "Home Electronics Setup", "installation", "INS-SET", (99, 299),
        ("Standard",), (),
        "A technician sets up your devices, Wi-Fi and accounts, and shows you around.",
        (4, 8),
    ),
)  # fmt: skip
