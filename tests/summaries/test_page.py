import re
from dataclasses import replace

from backend.summaries.card import (
    SummaryAnswer,
    SummaryNextAction,
    SummaryStore,
    SummaryTag,
    build_summary,
)
from backend.summaries.page import render_summary_page, safe_url
from tests.factories.summaries import DUE, sample_input

EVIL = '<script>alert("x")</script>'
PHOTOS = {k: f"/s/TOKEN/photos/{k}" for k in ("storefront", "shelf", "conversation")}


def test_page_is_self_contained_and_localised() -> None:
    summary = build_summary(sample_input())
    page = render_summary_page(summary, locale="zh-CN", photo_urls=PHOTOS)
    assert page.startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in page
    assert 'name="viewport"' in page and "noindex" in page
    for text in (
        "仁和大药房（解放路店）",
        "张伟",
        "送样",
        "还剩 2 天 4 小时",
        "价格敏感",
        "关注价格",
    ):
        assert text in page
    assert "<script" not in page.lower()
    # No external resource: the one link is the app's own icon (a favicon that resolves).
    assert re.findall(r"<link[^>]*>", page) == [
        '<link rel="icon" type="image/png" sizes="192x192" href="/icons/icon-192.png">'
    ]
    assert "@import" not in page and "url(" not in page
    # The CSP goes in the HTTP header only: browsers ignore frame-ancestors in a <meta>.
    assert "Content-Security-Policy" not in page
    # Chinese text uses full-width punctuation; metres read 米 in Chinese and m in English.
    assert "截止：2024-05-03 14:30（按提交时计）" in page
    assert "（−40）" in page and "35 米" in page and " m<" not in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs == [PHOTOS["storefront"], PHOTOS["shelf"], PHOTOS["conversation"]]
    english = render_summary_page(summary, locale="en", photo_urls={})
    assert (
        '<html lang="en">' in english and "Send a sample" in english and "due in 2 d 4 h" in english
    )
    assert "<img" not in english
    assert "Due 2024-05-03 14:30 (at submit)" in english and "35 m<" in english
    assert "米" not in english.split("<h1>")[1].split("</header>")[1]  # past the store's name


def test_every_value_is_escaped() -> None:
    base = sample_input()
    data = replace(
        base,
        store=replace(base.store, name=EVIL, address=EVIL, code=EVIL),
        rep_display_name=EVIL,
        next_action=SummaryNextAction("other", DUE, EVIL),
        profile_tags=[SummaryTag(EVIL, "f", {"zh": EVIL, "en": EVIL})],
        answers=[SummaryAnswer("k", {"zh": EVIL, "en": EVIL}, "text", EVIL)],
    )
    page = render_summary_page(build_summary(data), locale="zh-CN", photo_urls=PHOTOS)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("&lt;script&gt;") >= 6  # title, name, code, address, rep, note, tag, answer


def test_unsafe_photo_urls_are_dropped_or_escaped() -> None:
    summary = build_summary(sample_input())
    page = render_summary_page(
        summary,
        locale="zh-CN",
        photo_urls={
            "storefront": "javascript:alert(1)",
            "shelf": '/s/t/photos/shelf"><script>',
            "conversation": "//evil.example/x.jpg",
        },
    )
    assert "javascript:" not in page
    assert "evil.example" not in page
    assert "<script" not in page.lower()
    assert 'src="/s/t/photos/shelf&quot;&gt;&lt;script&gt;"' in page
    assert safe_url("https://cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert safe_url("data:image/png;base64,AAAA") is None


def test_minimal_summary_renders() -> None:
    page = render_summary_page({}, locale="zh-CN", photo_urls={})
    assert "未设置下一步" in page
    store = SummaryStore(name="", code="", address="", customer_type="clinic")
    empty = build_summary(
        replace(sample_input(), store=store, next_action=None, answers=[], flags=[], pending=[])
    )
    assert "<h1></h1>" in render_summary_page(empty, locale="en", photo_urls={})
