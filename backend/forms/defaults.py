"""The customer types every new organization starts with, and version 1 of their visit forms.

The forms are what a Chinese field-sales team asks at each kind of store on day one; admins
edit them from there (each edit is a new version). They are written as plain data and parsed
with the same models and rules as a form an admin publishes, so they cannot drift from them.
"""

from functools import cache
from typing import Any, NamedTuple

from backend.forms.definitions import FormDefinitionInput, definition_problems


class DefaultCustomerType(NamedTuple):
    key: str
    name: str
    name_en: str


DEFAULT_CUSTOMER_TYPES = (
    DefaultCustomerType("pharmacy", "药店", "Pharmacy"),
    DefaultCustomerType("clinic", "诊所", "Clinic"),
    DefaultCustomerType("supermarket", "超市", "Supermarket"),
)


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _option(
    value: str, zh: str, en: str, tag: str | None = None, *, exclusive: bool = False
) -> dict[str, Any]:
    option: dict[str, Any] = {"value": value, "label": _label(zh, en)}
    if tag:
        option["tag"] = tag
    if exclusive:
        option["exclusive"] = True
    return option


def _notes() -> dict[str, Any]:
    return {
        "key": "notes",
        "type": "textarea",
        "label": _label("其他情况", "Other notes"),
        "max_length": 2000,
    }


PHARMACY: list[dict[str, Any]] = [
    {
        "key": "store_kind",
        "type": "choice",
        "label": _label("门店类型", "Store type"),
        "required": True,
        "options": [
            _option("chain", "连锁药店", "Chain pharmacy", "chain_pharmacy"),
            _option("independent", "单体药店", "Independent pharmacy"),
            _option("hospital_side", "院边店", "Pharmacy next to a hospital", "hospital_side"),
        ],
    },
    {
        "key": "medical_insurance",
        "type": "boolean",
        "label": _label("医保定点药店", "Medical-insurance designated pharmacy"),
    },
    {
        "key": "otc_out_of_stock",
        "type": "string_list",
        "label": _label("OTC 缺货清单", "OTC out-of-stock list"),
        "help": _label(
            "每行一个品种，写明品名和规格，如“布洛芬缓释胶囊 0.3g×20粒”；没有缺货就留空",
            "One product per line with its strength and pack size, e.g. "
            '"Ibuprofen SR capsules 0.3 g × 20"; leave empty if nothing is out of stock',
        ),
        "max_items": 50,
        "max_length": 100,
        "pending": True,
    },
    {
        "key": "our_skus_on_shelf",
        "type": "integer",
        "label": _label("我司在架品种数", "Our SKUs on the shelf"),
        "required": True,
        "min": 0,
        "max": 500,
    },
    {
        "key": "shelf_position",
        "type": "choice",
        "label": _label("我司产品陈列位置", "Where our products are shelved"),
        "required": True,
        "options": [
            _option("eye_level", "黄金位（与视线平齐）", "Eye level"),
            _option("counter", "收银台/柜台旁", "At the counter"),
            _option("end_cap", "端架", "End cap"),
            _option("top", "顶层", "Top shelf"),
            _option("bottom", "底层", "Bottom shelf"),
            _option("not_displayed", "未陈列", "Not on display", "display_gap"),
        ],
    },
    {
        "key": "competitor_promotions",
        "type": "multi_choice",
        "label": _label("竞品促销活动", "Competitor promotions"),
        "required": True,
        "options": [
            _option("none", "没有", "None", exclusive=True),
            _option("buy_gift", "买赠", "Buy one, get a gift"),
            _option("price_cut", "直降/打折", "Price cut"),
            _option("bundle", "组合装/套餐", "Bundle pack"),
            _option("member_points", "会员积分加倍", "Double member points"),
            _option("staff_incentive", "店员推荐奖励", "Staff sales incentive", "competitor_push"),
        ],
    },
    {
        "key": "competitor_promotion_details",
        "type": "textarea",
        "label": _label("竞品促销详情", "Competitor promotion details"),
        "help": _label(
            "品牌、品种、活动内容和起止时间",
            "Brand, product, the offer and its start and end dates",
        ),
        "max_length": 1000,
        "visible_if": {
            "field": "competitor_promotions",
            "in": ["buy_gift", "price_cut", "bundle", "member_points", "staff_incentive"],
        },
    },
    {
        "key": "pharmacist_attitude",
        "type": "choice",
        "label": _label("店长/药师对我司产品的态度", "Pharmacist's attitude to our products"),
        "required": True,
        "options": [
            _option("advocate", "主动推荐", "Recommends them unprompted", "advocate"),
            _option("neutral", "中立，顾客问起才推荐", "Neutral: recommends when asked"),
            _option(
                "price_sensitive",
                "更看重价格和毛利",
                "Mostly cares about price and margin",
                "price_sensitive",
            ),
            _option("prefers_competitor", "偏向竞品", "Prefers a competitor", "competitor_loyal"),
        ],
    },
    {
        "key": "staff_trained",
        "type": "boolean",
        "label": _label("店员已参加我司产品培训", "Staff trained on our products"),
    },
    {
        "key": "monthly_boxes",
        "type": "integer",
        "label": _label(
            "我司产品月销量估算（盒）", "Estimated monthly sales of our products (boxes)"
        ),
        "min": 0,
        "max": 100000,
    },
    _notes(),
]

CLINIC: list[dict[str, Any]] = [
    {
        "key": "clinic_kind",
        "type": "choice",
        "label": _label("诊所类型", "Clinic type"),
        "required": True,
        "options": [
            _option("general", "综合门诊", "General practice"),
            _option("dental", "口腔诊所", "Dental clinic"),
            _option("tcm", "中医诊所", "Traditional Chinese medicine clinic"),
            _option("pediatric", "儿科诊所", "Paediatric clinic"),
            _option("community", "社区卫生服务站", "Community health station"),
            _option("other", "其他", "Other"),
        ],
    },
    {
        "key": "daily_patients",
        "type": "integer",
        "label": _label("日均接诊量（人次）", "Patients per day (average)"),
        "min": 0,
        "max": 5000,
    },
    {
        "key": "decision_maker",
        "type": "choice",
        "label": _label("采购决策人", "Who decides on purchases"),
        "required": True,
        "options": [
            _option("owner_doctor", "院长/坐诊医生本人", "The owner-doctor"),
            _option("purchasing", "采购负责人", "The purchasing manager"),
            _option("head_nurse", "护士长", "The head nurse"),
            _option("group_hq", "集团总部统一采购", "Group headquarters", "central_purchasing"),
        ],
    },
    {
        "key": "decision_maker_contact",
        "type": "text",
        "label": _label("决策人姓名及职务", "Decision maker's name and title"),
        "max_length": 100,
    },
    {
        "key": "equipment_in_use",
        "type": "table",
        "label": _label("在用设备", "Equipment in use"),
        "max_items": 30,
        "columns": [
            {
                "key": "model",
                "type": "text",
                "label": _label("品牌型号", "Make and model"),
                "required": True,
                "max_length": 100,
            },
            {
                "key": "quantity",
                "type": "integer",
                "label": _label("台数", "Units"),
                "required": True,
                "min": 1,
                "max": 999,
            },
            {
                "key": "purchase_year",
                "type": "integer",
                "label": _label("购置年份", "Year bought"),
                "min": 1990,
                "max": 2100,
            },
            {
                "key": "under_warranty",
                "type": "boolean",
                "label": _label("在保修期内", "Under warranty"),
            },
        ],
    },
    {
        "key": "maintenance_frequency",
        "type": "choice",
        "label": _label("希望的设备保养频率", "Preferred equipment-maintenance frequency"),
        "required": True,
        "options": [
            _option("monthly", "每月一次", "Monthly", "high_service_need"),
            _option("quarterly", "每季度一次", "Quarterly"),
            _option("half_yearly", "每半年一次", "Every six months"),
            _option("yearly", "每年一次", "Yearly"),
            _option("on_call", "坏了再报修", "Only when something breaks"),
        ],
    },
    {
        "key": "current_supplier",
        "type": "text",
        "label": _label("当前设备/耗材供应商", "Current equipment or consumables supplier"),
        "max_length": 100,
    },
    {
        "key": "supplier_satisfaction",
        "type": "choice",
        "label": _label("对现有供应商的满意度", "Satisfaction with the current supplier"),
        "options": [
            _option("satisfied", "满意", "Satisfied"),
            _option("neutral", "一般", "So-so"),
            _option("dissatisfied", "不满意", "Dissatisfied", "switch_opportunity"),
        ],
    },
    {
        "key": "budget_window",
        "type": "choice",
        "label": _label("采购预算窗口", "Budget window"),
        "required": True,
        "options": [
            _option("this_month", "本月", "This month", "hot_lead"),
            _option("this_quarter", "本季度", "This quarter", "hot_lead"),
            _option("this_half", "半年内", "Within six months"),
            _option("next_year", "明年", "Next year"),
            _option("no_budget", "暂无预算", "No budget yet"),
        ],
    },
    {
        "key": "budget_amount",
        "type": "number",
        "label": _label("预计预算（万元）", "Expected budget (10,000 CNY)"),
        "min": 0,
        "max": 10000,
        "visible_if": {"field": "budget_window", "in": ["this_month", "this_quarter", "this_half"]},
    },
    {
        "key": "demo_requested",
        "type": "boolean",
        "label": _label("希望安排产品演示", "Asked for a product demo"),
    },
    _notes(),
]

SUPERMARKET: list[dict[str, Any]] = [
    {
        "key": "store_format",
        "type": "choice",
        "label": _label("业态", "Store format"),
        "required": True,
        "options": [
            _option("hypermarket", "大卖场", "Hypermarket", "key_account"),
            _option("supermarket", "标准超市", "Supermarket"),
            _option("community", "社区生鲜店", "Neighbourhood fresh-food store"),
            _option("convenience", "便利店", "Convenience store"),
        ],
    },
    {
        "key": "shelf_share",
        "type": "number",
        "label": _label("我司产品货架占比（%）", "Our shelf share (%)"),
        "help": _label(
            "我司排面数 ÷ 本品类总排面数 × 100", "Our facings ÷ all facings in the category × 100"
        ),
        "required": True,
        "min": 0,
        "max": 100,
    },
    {
        "key": "facings",
        "type": "table",
        "label": _label("各 SKU 排面数", "Facings per SKU"),
        "max_items": 50,
        "columns": [
            {
                "key": "sku",
                "type": "text",
                "label": _label("SKU/品名", "SKU"),
                "required": True,
                "max_length": 100,
            },
            {
                "key": "facings",
                "type": "integer",
                "label": _label("排面数", "Facings"),
                "required": True,
                "min": 0,
                "max": 999,
            },
        ],
    },
    {
        "key": "out_of_stock_skus",
        "type": "string_list",
        "label": _label("缺货 SKU", "Out-of-stock SKUs"),
        "max_items": 50,
        "max_length": 100,
        "pending": True,
    },
    {
        "key": "price_tags_correct",
        "type": "boolean",
        "label": _label("价签与系统价格一致", "Price tags match the system price"),
        "required": True,
    },
    {
        "key": "price_tag_issues",
        "type": "string_list",
        "label": _label("价签问题（品名及问题）", "Price-tag problems (product and problem)"),
        "required": True,
        "max_items": 30,
        "max_length": 100,
        "pending": True,
        "visible_if": {"field": "price_tags_correct", "equals": False},
    },
    {
        "key": "promotion_running",
        "type": "boolean",
        "label": _label("本店正在做我司促销", "Our promotion is running in this store"),
        "required": True,
    },
    {
        "key": "promotion_type",
        "type": "choice",
        "label": _label("促销形式", "Promotion type"),
        "required": True,
        "options": [
            _option("floor_stack", "堆头/端架", "Floor stack or end cap"),
            _option("price_cut", "特价", "Price cut"),
            _option("gift", "买赠", "Gift with purchase"),
            _option("tasting", "试吃/试饮", "Tasting"),
            _option("posm", "海报/POP", "Posters and POP"),
        ],
        "visible_if": {"field": "promotion_running", "equals": True},
    },
    {
        "key": "promotion_ends_on",
        "type": "date",
        "label": _label("促销结束日期", "Promotion ends on"),
        "visible_if": {"field": "promotion_running", "equals": True},
    },
    {
        "key": "competitor_activity",
        "type": "multi_choice",
        "label": _label("竞品动态", "Competitor activity"),
        "options": [
            _option("price_war", "低价冲击", "Aggressive pricing", "price_pressure"),
            _option("new_launch", "新品上市", "New product launch"),
            _option("extra_display", "额外陈列", "Extra display space"),
            _option("promoter", "驻店促销员", "In-store promoter"),
        ],
    },
    {
        "key": "manager_attitude",
        "type": "choice",
        "label": _label("店长配合度", "Store manager's cooperation"),
        "options": [
            _option("cooperative", "积极配合", "Cooperative", "cooperative_manager"),
            _option("neutral", "一般", "Neutral"),
            _option("asks_fees", "要求额外费用", "Asks for extra fees", "fee_demanding"),
        ],
    },
    _notes(),
]

_DEFAULT_FORMS: dict[str, list[dict[str, Any]]] = {
    "pharmacy": PHARMACY,
    "clinic": CLINIC,
    "supermarket": SUPERMARKET,
}


@cache
def default_form(key: str) -> FormDefinitionInput:
    """The parsed default form of a default customer type (checked by the same rules as an
    admin's; a broken default fails loudly here, and in the tests, not at some org's sign-up)."""
    form = FormDefinitionInput.model_validate({"fields": _DEFAULT_FORMS[key]})
    problems = definition_problems(form.fields)
    if problems:
        raise ValueError(f"the default {key} form is invalid: {problems}")
    return form
