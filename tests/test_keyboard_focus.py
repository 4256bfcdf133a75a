"""Keyboard users see where they are: a chart's tool buttons (zoom, pan, reset) are shown when one of them gets
focus, and wear the page's own focus ring (3 px), not plotly's 1 px black line on a small icon."""
from __future__ import annotations

from playwright.sync_api import Browser

from tests.journeys import sandbox_people
from tests.servers import LiveServer

FOCUSED = """() => {
  const button = document.activeElement, group = button.closest('.modebar-group');
  let shown = 1;
  for (let node = button; node && node !== document.body; node = node.parentElement) {
    shown *= Number(getComputedStyle(node).opacity);
  }
  return {tool: button.classList.contains('modebar-btn'), shown: shown,
          ring: parseFloat(getComputedStyle(button).outlineWidth), style: getComputedStyle(button).outlineStyle,
          inGroup: !!group};
}"""


def test_a_chart_tool_button_reached_by_tab_is_visible_with_a_focus_ring(
        chromium: Browser, app_server: LiveServer) -> None:
    _, practitioners = sandbox_people(app_server.sandbox)  # type: ignore[attr-defined]
    page = chromium.new_page()
    try:
        page.goto(f"{app_server.sandbox.url}/launcher?launch_uri={app_server.url}/launch"  # type: ignore[attr-defined]
                  f"&patient=pas-01&provider={practitioners[0]['id']}")
        page.wait_for_selector("#vitals[data-state='ready']", timeout=30000)
        page.focus("button[data-days='all']")
        page.keyboard.press("Tab")
        page.wait_for_timeout(500)  # plotly fades its tool buttons in over 0.3 s
        focused = page.evaluate(FOCUSED)
        assert focused["tool"] and focused["inGroup"], focused
        assert focused["shown"] == 1, focused
        assert focused["ring"] >= 2 and focused["style"] == "solid", focused
    finally:
        page.close()
