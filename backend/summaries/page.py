"""The read-only summary page behind a share link (pure: string building).

One self-contained HTML document: inline CSS, no scripts, no external fonts or styles, mobile
first, ``noindex``. Every value from the summary is HTML-escaped; image addresses are escaped
too and only relative paths or http(s) URLs are used (anything else, e.g. ``javascript:``, is
dropped). It shows what the PNG card shows, with every answer.

The endpoint serving it must send ``Content-Type: text/html; charset=utf-8``, the
:data:`CONTENT_SECURITY_POLICY` as an HTTP header (the page carries no ``<meta>`` copy:
browsers ignore ``frame-ancestors`` there and log an error), ``Referrer-Policy: no-referrer``
(the token is in the URL) and ``Cache-Control: private, no-store``. Its icon is the app's own
(:data:`ICON`, served with the PWA).
"""

import html
from collections.abc import Mapping
from typing import Any, Final

from backend.summaries.card import as_int, number_text

ICON: Final = "/icons/icon-192.png"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "title": "拜访小结",
        "rep": "业务代表",
        "time": "时间",
        "duration": "时长",
        "distance": "距门店",
        "meters": "{v} 米",
        "due_line": "截止：{due}（按提交时计）",
        "weight": "（−{w}）",
        "accuracy": "定位精度",
        "trust": "可信度",
        "flags": "风险提示",
        "next_action": "下一步",
        "no_action": "未设置下一步",
        "photos": "现场照片",
        "pending": "待跟进",
        "rectifications": "本次完成整改",
        "tags": "客户标签",
        "answers": "拜访记录",
        "storefront": "门头",
        "shelf": "货架",
        "conversation": "沟通",
        "footer": "只读页面 · 提交于 {t}",
    },
    "en": {
        "title": "Visit summary",
        "rep": "Rep",
        "time": "Time",
        "duration": "Duration",
        "distance": "Distance",
        "meters": "{v} m",
        "due_line": "Due {due} (at submit)",
        "weight": " (−{w})",
        "accuracy": "Accuracy",
        "trust": "Trust",
        "flags": "Flags",
        "next_action": "Next action",
        "no_action": "No next action",
        "photos": "Photos",
        "pending": "Pending",
        "rectifications": "Rectifications fixed",
        "tags": "Customer profile",
        "answers": "Visit notes",
        "storefront": "Storefront",
        "shelf": "Shelf",
        "conversation": "Conversation",
        "footer": "Read-only page · submitted {t}",
    },
}

_PHOTO_ORDER: Final = ("storefront", "shelf", "conversation")

_CSS: Final = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:16px/1.5 -apple-system,BlinkMacSystemFont,
"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",
"Segoe UI",Roboto,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:640px;margin:0 auto;background:#fff;min-height:100vh}
header{background:#164e63;color:#fff;padding:24px 20px}
h1{margin:0 0 6px;font-size:24px;line-height:1.3;overflow-wrap:anywhere}
header p{margin:0;color:#cde2e9;font-size:14px;overflow-wrap:anywhere}
section{padding:16px 20px;border-top:1px solid #e5e7eb}
h2{margin:0 0 10px;font-size:13px;color:#646c7a;letter-spacing:.02em}
.meta{display:flex;gap:16px;align-items:flex-start;justify-content:space-between}
.meta dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 12px;font-size:15px}
dt{color:#646c7a}dd{margin:0;overflow-wrap:anywhere}
.badge{flex:none;min-width:88px;text-align:center;border-radius:14px;color:#fff;padding:8px 12px}
.badge b{display:block;font-size:32px;line-height:1.1}.badge span{font-size:13px}
.high{background:#168c4b}.medium{background:#d98c04}.low{background:#c82828}
ul{margin:0;padding-left:20px}.flags li{color:#a03c14}
.action{background:#fff7e6;border:1px solid #f5c878;border-radius:12px;padding:14px 16px}
.action .row{display:flex;flex-wrap:wrap;gap:8px;align-items:center;justify-content:space-between}
.action strong{font-size:20px}.action p{margin:6px 0 0;overflow-wrap:anywhere}
.pill{border-radius:999px;color:#fff;background:#d98c04;padding:2px 12px;font-size:14px}
.pill.overdue{background:#c82828}.muted{color:#646c7a;font-size:14px}
.photos{display:grid;grid-template-columns:repeat(3,1fr);gap:8px}
.photos figure{margin:0}.photos img{width:100%;aspect-ratio:4/3;object-fit:cover;
border-radius:8px;background:#eceef1;display:block}
.photos figcaption{font-size:13px;color:#646c7a;margin-top:4px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:0;padding:0;list-style:none}
.chips li{background:#e6f0fa;color:#1d4e89;border-radius:999px;padding:4px 12px;font-size:14px}
.pending h3{font-size:15px;margin:8px 0 2px}.pending p{margin:0;overflow-wrap:anywhere}
.answers{margin:0}.answers div{display:grid;grid-template-columns:38% 1fr;gap:12px;
padding:8px 0;border-top:1px solid #f0f1f3}.answers div:first-child{border-top:0}
.answers dd{white-space:pre-wrap}.answers div.long{grid-template-columns:1fr;gap:2px}
footer{padding:20px;color:#949ba8;font-size:13px;border-top:1px solid #e5e7eb;
display:flex;justify-content:space-between}footer b{color:#164e63}
""".strip()


def render_summary_page(
    summary: Mapping[str, Any], *, locale: str, photo_urls: Mapping[str, str]
) -> str:
    """The read-only page for a stored summary. ``photo_urls`` maps a photo kind to the
    share-scoped address of its image (e.g. ``/s/{token}/photos/{kind}``); kinds without one
    are not shown."""
    lang = "zh" if locale.lower().startswith("zh") else "en"
    page = _Page(summary, lang)
    store = _map(summary.get("store"))
    title = f"{page.t['title']} · {store.get('name') or ''}".rstrip(" ·")
    body = "".join(
        (
            page.header(),
            page.meta(),
            page.flags(),
            page.next_action(),
            page.photos(photo_urls),
            page.pending(),
            page.rectifications(),
            page.tags(),
            page.answers(),
            page.footer(),
        )
    )
    return (
        "<!doctype html>\n"
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f'<link rel="icon" type="image/png" sizes="192x192" href="{ICON}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body><main>{body}</main></body>\n</html>\n"
    )


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# What the rep typed at length reads as a paragraph under its label, not in a narrow column.
_PARAGRAPH_TYPES: Final = frozenset({"textarea", "string_list", "table"})
_PARAGRAPH_CHARS: Final = 40


def _long(row: Mapping[str, Any], display: str) -> bool:
    return row.get("type") in _PARAGRAPH_TYPES or len(display) > _PARAGRAPH_CHARS


def safe_url(url: object) -> str | None:
    """``url`` if it is a relative path or an http(s) URL, else None."""
    if not isinstance(url, str) or not url or any(c in url for c in "\x00\r\n\t "):
        return None
    lowered = url.lower()
    if lowered.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return url
    return None


class _Page:
    def __init__(self, summary: Mapping[str, Any], lang: str) -> None:
        self.s = summary
        self.lang = lang
        self.t = _TEXTS[lang]

    def _pick(self, label: object) -> str:
        if isinstance(label, Mapping):
            other = "en" if self.lang == "zh" else "zh"
            return str(label.get(self.lang) or label.get(other) or "")
        return "" if label is None else str(label)

    def _section(self, title: str, inner: str, cls: str = "") -> str:
        attr = f' class="{cls}"' if cls else ""
        return f"<section{attr}><h2>{_e(title)}</h2>{inner}</section>"

    def header(self) -> str:
        store = _map(self.s.get("store"))
        sub = " · ".join(
            p
            for p in (
                str(store.get("code") or ""),
                self._pick(_map(store.get("customer_type")).get("name")),
            )
            if p
        )
        parts = [f"<h1>{_e(store.get('name') or '')}</h1>"]
        if sub:
            parts.append(f"<p>{_e(sub)}</p>")
        if store.get("address"):
            parts.append(f"<p>{_e(store.get('address'))}</p>")
        return f"<header>{''.join(parts)}</header>"

    def meta(self) -> str:
        local = _map(self.s.get("local"))
        rows = [
            (self.t["rep"], _map(self.s.get("rep")).get("display_name") or "—"),
            (
                self.t["time"],
                " ".join(str(p) for p in (local.get("date"), local.get("time_range")) if p),
            ),
            (self.t["duration"], self._pick(self.s.get("duration"))),
        ]
        if self.s.get("distance_m") is not None:
            rows.append(
                (self.t["distance"], self.t["meters"].format(v=number_text(self.s["distance_m"])))
            )
        if self.s.get("accuracy_m") is not None:
            rows.append(
                (self.t["accuracy"], self.t["meters"].format(v=number_text(self.s["accuracy_m"])))
            )
        dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v)
        trust = _map(self.s.get("trust"))
        score = as_int(trust.get("score"))
        level = "high" if score >= 80 else "medium" if score >= 50 else "low"
        badge = f'<div class="badge {level}"><b>{score}</b><span>{_e(self.t["trust"])}</span></div>'
        return f'<section class="meta"><dl>{dl}</dl>{badge}</section>'

    def flags(self) -> str:
        flags = [_map(f) for f in _list(_map(self.s.get("trust")).get("flags"))]
        if not flags:
            return ""
        items = "".join(
            f"<li>{_e(self._pick(f.get('detail')) or f.get('code'))}"
            f"{_e(self.t['weight'].format(w=f.get('weight')))}</li>"
            for f in flags
        )
        return self._section(self.t["flags"], f'<ul class="flags">{items}</ul>')

    def next_action(self) -> str:
        action = self.s.get("next_action")
        if not isinstance(action, Mapping):
            return self._section(
                self.t["next_action"], f'<p class="muted">{_e(self.t["no_action"])}</p>'
            )
        countdown = _map(action.get("countdown"))
        pill = self._pick(countdown.get("text"))
        pill_html = (
            f'<span class="pill{" overdue" if countdown.get("overdue") else ""}">{_e(pill)}</span>'
            if pill
            else ""
        )
        title = self._pick(action.get("type_label")) or str(action.get("type") or "")
        due = action.get("due_local") or action.get("due_at") or ""
        note = str(action.get("note") or "").strip()
        inner = (
            f'<div class="action"><div class="row"><strong>{_e(title)}</strong>{pill_html}</div>'
            f'<p class="muted">{_e(self.t["due_line"].format(due=due))}</p>'
            + (f"<p>{_e(note)}</p>" if note else "")
            + "</div>"
        )
        return self._section(self.t["next_action"], inner)

    def photos(self, photo_urls: Mapping[str, str]) -> str:
        kinds = [k for k in _PHOTO_ORDER if k in photo_urls]
        kinds += [k for k in photo_urls if k not in kinds]
        figures = []
        for kind in kinds:
            url = safe_url(photo_urls.get(kind))
            if url is None:
                continue
            caption = self.t.get(kind, kind)
            figures.append(
                f'<figure><img src="{_e(url)}" alt="{_e(caption)}" loading="lazy">'
                f"<figcaption>{_e(caption)}</figcaption></figure>"
            )
        if not figures:
            return ""
        return self._section(self.t["photos"], f'<div class="photos">{"".join(figures)}</div>')

    def pending(self) -> str:
        groups = [_map(g) for g in _list(self.s.get("pending")) if _list(_map(g).get("items"))]
        if not groups:
            return ""
        sep = "、" if self.lang == "zh" else ", "
        inner = "".join(
            f"<h3>{_e(self._pick(g.get('label')))}</h3>"
            f"<p>{_e(sep.join(str(i) for i in _list(g.get('items'))))}</p>"
            for g in groups
        )
        return self._section(self.t["pending"], inner, "pending")

    def rectifications(self) -> str:
        fixed = [_map(r) for r in _list(self.s.get("rectifications"))]
        if not fixed:
            return ""
        inner = "".join(f"<p>{_e(self._pick(r.get('title')))}</p>" for r in fixed)
        return self._section(self.t["rectifications"], inner, "rectifications")

    def tags(self) -> str:
        tags = [_map(t) for t in _list(self.s.get("profile_tags"))]
        if not tags:
            return ""
        chips = "".join(f"<li>{_e(self._pick(t.get('label')) or t.get('tag'))}</li>" for t in tags)
        return self._section(self.t["tags"], f'<ul class="chips">{chips}</ul>')

    def answers(self) -> str:
        rows = [_map(r) for r in _list(self.s.get("answers"))]
        if not rows:
            return ""
        items = []
        for row in rows:
            display = self._pick(row.get("display")) or "—"
            attr = ' class="long"' if _long(row, display) else ""
            items.append(
                f"<div{attr}><dt>{_e(self._pick(row.get('label')) or row.get('key'))}</dt>"
                f"<dd>{_e(display)}</dd></div>"
            )
        inner = "".join(items)
        return self._section(self.t["answers"], f'<dl class="answers">{inner}</dl>')

    def footer(self) -> str:
        stamp = _map(self.s.get("local")).get("checked_out") or ""
        return (
            f"<footer><b>Doorstep</b><span>{_e(self.t['footer'].format(t=stamp))}</span></footer>"
        )
