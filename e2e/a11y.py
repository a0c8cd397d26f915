"""The accessibility check every page's e2e test runs: axe-core's WCAG 2.1 A and AA rules (SPEC §10).

`assert_accessible(page)` injects the vendored axe-core (e2e/vendor/, never served by the app) into
the page as it is now — after any click or htmx swap the test made — runs it, and fails with one
readable line per broken rule and the elements that break it. Any violation fails, whatever its
impact: the rules run are only WCAG 2.0/2.1 level A and AA ones, so each is a real failure.

The app's Content-Security-Policy allows no inline script, and an injected script tag is inline:
the browser context under test needs ``bypass_csp=True`` (the page's own policy is unchanged).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"  # e2e/vendor/README.md
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# A selector, a list of them, or axe's {"include": [...], "exclude": [...]}; None is the whole document.
AxeContext = str | list[str] | dict[str, Any] | None

_RUN_AXE = """async ([context, tags]) => {
    const results = await window.axe.run(context === null ? document : context, {
        runOnly: {type: "tag", values: tags},
        resultTypes: ["violations"],
    });
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary || ""})),
    }));
}"""


def axe_violations(page: Page, context: AxeContext = None) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2.1 AA in the page (or the `context` part of it) as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE_JS)
        if not page.evaluate("() => typeof window.axe === 'object'"):
            raise AssertionError(
                f"axe-core did not load into {page.url}: the page's Content-Security-Policy blocked it; "
                "create the browser context with bypass_csp=True"
            )
    violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE, [context, list(WCAG_TAGS)])
    return violations


def describe(violations: list[dict[str, Any]], where: str) -> str:
    """One block per broken rule: id, impact, what it asks, and each element (selector and why)."""
    lines = [f"{len(violations)} WCAG 2.1 AA violation(s) on {where} (axe-core {AXE_VERSION}):"]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} — {v['helpUrl']}")
        for node in v["nodes"]:
            target = " ".join(" >> ".join(part) if isinstance(part, list) else part for part in node["target"])
            why = "; ".join(
                line.strip() for line in node["summary"].splitlines() if line.strip() and not line.startswith("Fix ")
            )
            lines.append(f"    {target}" + (f"  ({why})" if why else ""))
    return "\n".join(lines)


def assert_accessible(page: Page, context: AxeContext = None, *, label: str = "") -> None:
    """Fail, listing every violation, unless the page (or its `context` part) passes WCAG 2.1 AA in axe-core."""
    violations = axe_violations(page, context)
    where = f"{label} ({page.url})" if label else page.url
    if context is not None:
        where += f" within {context!r}"
    assert not violations, describe(violations, where)
