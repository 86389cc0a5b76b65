"""The library table on a phone (390x844): no word is split over two lines, and the page does not
scroll sideways (the table scrolls in its own box when it must)."""

from __future__ import annotations

from tests.web.conftest import PHONE, browser_login, make_user, screenshot

# Every word (letters and digits between spaces or underscores) of the table's text, with the
# number of line boxes it takes: more than one is a word broken in two.
BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector("#intents"), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.textContent.matchAll(/[^\\s_\\/]+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (tops.size > 1) { broken.push(match[0]); }
    }
  }
  return broken;
}"""


def test_the_library_table_keeps_words_whole_on_a_phone(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    make_user(live_server.services, "ada", admin=True)
    page = browser.new_page(viewport=PHONE)
    browser_login(page, live_server, "ada")
    page.goto(f"{live_server.url}/admin/library")
    assert page.locator("#intents tbody tr").count() > 10
    assert page.evaluate(BROKEN_WORDS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "admin-library-phone", full_page=False)
    page.close()
