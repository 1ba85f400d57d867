"""The audit template every new organization starts with: ``standard`` (门店标准巡检), and version 1
of its checklist.

It is what a Chinese FMCG or pharma field-sales supervisor checks on a store walk: the storefront,
the display, prices and promotion material, and stock. The two items that fail the whole audit
are the ones a brand cannot live with: expired goods on the shelf and its key SKUs out of stock.
The checklist is written as plain data and parsed by the same model and rules as one an admin
publishes, so it cannot drift from them; admins edit it from there (each edit a new version).
"""

from functools import cache
from typing import Any, NamedTuple

from backend.audits.checklist import ChecklistInput, checklist_problems


class DefaultTemplate(NamedTuple):
    key: str
    name: str
    name_en: str
    # Empty: the template is for every customer type.
    customer_types: tuple[str, ...]


STANDARD_TEMPLATE = DefaultTemplate("standard", "门店标准巡检", "Standard store audit", ())


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


STOREFRONT = _text("门头与环境", "Storefront & surroundings")
DISPLAY = _text("陈列", "Display")
PRICING = _text("价格与促销", "Pricing & promotion")
STOCK = _text("库存", "Stock")

STANDARD_ITEMS: list[dict[str, Any]] = [
    {
        "key": "storefront_sign",
        "section": STOREFRONT,
        "label": _text("门头招牌完好清洁", "Storefront sign intact and clean"),
        "kind": "check",
        # The photo of the door is also what shows, months later, which store this was.
        "photo": "required",
        "help": _text(
            "招牌无破损、无褪色，灯箱能亮，门口无遮挡",
            "No damage or fading, the light box works, nothing blocks the entrance",
        ),
    },
    {
        "key": "store_clean",
        "section": STOREFRONT,
        "label": _text("店内整洁，通道无杂物", "Store clean, aisles clear"),
        "kind": "check",
        "photo": "on_fail",
    },
    {
        "key": "lighting_ok",
        "section": STOREFRONT,
        "label": _text("店内照明正常", "Store lighting works"),
        "kind": "check",
        "weight": 0.5,
    },
    {
        "key": "hero_in_golden_zone",
        "section": DISPLAY,
        "label": _text("主推产品陈列在黄金位置", "Hero products in the golden zone"),
        "kind": "check",
        "weight": 2,
        "photo": "on_fail",
        "help": _text(
            "黄金位：离地 1.2–1.6 米、与视线平齐的货架层",
            "Golden zone: the shelf at eye level, 1.2–1.6 m above the floor",
        ),
    },
    {
        "key": "facings",
        "section": DISPLAY,
        "label": _text("主货架排面数", "Facings on the main shelf"),
        "kind": "number",
        "min": 4,
        "help": _text(
            "我司产品在主货架上正面朝外的排面总数，至少 4 个",
            "Our products facing out on the main shelf, in all; at least 4",
        ),
    },
    {
        "key": "display_score",
        "section": DISPLAY,
        "label": _text("陈列评分", "Display rating"),
        "kind": "scale",
        "scale_max": 5,
        "weight": 2,
        "photo": "required",
        "help": _text(
            "1 分：杂乱、缺位；3 分：基本整齐；5 分：整齐饱满、价签对齐、符合陈列标准",
            "1: untidy, gaps; 3: mostly tidy; 5: full and tidy, tags aligned, to the planogram",
        ),
    },
    {
        "key": "price_tags",
        "section": PRICING,
        "label": _text("价签齐全准确", "Price tags present and correct"),
        "kind": "check",
        "weight": 1.5,
        "photo": "on_fail",
        "help": _text(
            "每个在架 SKU 都有价签，价格与系统价一致，品名规格正确",
            "Every SKU on the shelf has a tag; the price matches the system, name and size right",
        ),
    },
    {
        "key": "posm_in_place",
        "section": PRICING,
        "label": _text("促销物料 (POSM) 到位", "Promotion material (POSM) in place"),
        "kind": "check",
        "photo": "on_fail",
        "help": _text(
            "海报、跳跳卡、堆头围挡按本期方案摆放，无过期物料",
            "Posters, shelf wobblers and stack wraps as this period's plan says; none out of date",
        ),
    },
    {
        "key": "promo_price_applied",
        "section": PRICING,
        "label": _text("促销价格按方案执行", "Promotion prices applied as planned"),
        "kind": "check",
    },
    {
        "key": "no_expired_products",
        "section": STOCK,
        "label": _text("无过期/临期产品", "No expired or near-expiry products"),
        "kind": "check",
        "weight": 3,
        "critical": True,
        "photo": "on_fail",
        "help": _text(
            "检查货架和仓库；临期指距有效期不足 3 个月",
            "Check the shelf and the stockroom; near expiry means under 3 months left",
        ),
    },
    {
        "key": "key_skus_in_stock",
        "section": STOCK,
        "label": _text("主推 SKU 无缺货", "No key SKU out of stock"),
        "kind": "check",
        "weight": 3,
        "critical": True,
        "photo": "on_fail",
    },
    {
        "key": "days_of_stock",
        "section": STOCK,
        "label": _text("库存天数", "Days of stock"),
        "kind": "number",
        "min": 7,
        "max": 45,
        "help": _text(
            "现有库存 ÷ 日均销量；少于 7 天有断货风险，多于 45 天有积压和临期风险",
            "Stock on hand ÷ average daily sales; under 7 risks running out, over 45 risks "
            "ageing stock",
        ),
    },
]


@cache
def standard_checklist() -> ChecklistInput:
    """The parsed ``standard`` checklist, checked by the same rules as an admin's (a broken
    default fails loudly here, and in the tests, not at some org's sign-up)."""
    checklist = ChecklistInput.model_validate({"items": STANDARD_ITEMS})
    problems = checklist_problems(checklist)
    if problems:
        raise ValueError(f"the standard audit checklist is invalid: {problems}")
    return checklist
