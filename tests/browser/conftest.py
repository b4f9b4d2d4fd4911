"""A real `streamlit run` on a free port, and Debian's Chromium driven by Playwright.

Never `playwright install`: the browser is /usr/bin/chromium from Debian.
Screenshots go to tests/artifacts/ (look at them).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEST_PASSWORD = "mot de passe de test"


def test_accounts() -> Path:
    """An accounts file (outside the repo) with one account per role, made once per test session."""
    global _ACCOUNTS
    if _ACCOUNTS is None:
        import tempfile

        from pipelines.privacy import accounts, roles

        _ACCOUNTS = Path(tempfile.mkdtemp(prefix="comptes-")) / "comptes.toml"
        for role in roles.ROLES:
            accounts.add_account(f"test-{role}", role, TEST_PASSWORD, _ACCOUNTS)
    return _ACCOUNTS


_ACCOUNTS: Path | None = None


def start_streamlit(db, log: Path) -> tuple[subprocess.Popen, str]:
    from pipelines.store import warehouse

    port = _free_port()
    env = {**os.environ, "OBSERVATOIRE_DB": warehouse.target_key(db), "OBSERVATOIRE_COMPTES": str(test_accounts())}
    handle = open(log, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit stopped: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError("streamlit did not answer /_stcore/health within 60 s")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def server(demo_db, tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process, url = start_streamlit(demo_db, tmp_path_factory.mktemp("logs") / "streamlit.log")
    yield url
    stop(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run ./scripts/tester.sh (it installs it) or apt-get install chromium")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    # Streamlit scrolls inside its own container: a tall viewport shows the whole page.
    context = browser.new_context(viewport={"width": 1400, "height": 2200}, locale="fr-FR")
    page = context.new_page()
    yield page
    context.close()


# Streamlit states its run on its root element (the attributes its own end-to-end tests read): connected,
# script run to the end, and no element of the previous run left stale.
APP_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.dataset.testConnectionState === 'CONNECTED' && app.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-stale="true"]');
}"""

# Every Plotly chart plotted, at least `n` of them, and every MapLibre map of them loaded (painted).
CHARTS_DRAWN = """(n) => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.length >= n && plots.every(p => p._fullLayout && Object.keys(p._fullLayout)
        .filter(k => /^map[0-9]*$/.test(k))
        .every(k => { const sub = p._fullLayout[k]._subplot; return !!sub && !!sub.map && sub.map.loaded(); }));
}"""


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has run the script to the end and drawn what it sent."""
    page.wait_for_function(APP_IDLE, timeout=timeout_ms)


def painted_share(png: bytes) -> float:
    """The share of a screenshot's pixels in colour: a map whose canvas is not painted yet still has its
    title and colour bar (about 1 % of the chart), a painted map of France at least 3 %."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = list(getattr(image, "get_flattened_data", image.getdata)())  # getdata: before Pillow 13
    return sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 15) / len(pixels)


def wait_for_painted_map(page, timeout_s: float = 20.0) -> bool:
    """MapLibre paints a frame after it reports itself loaded: look at the first map's own pixels until
    they show colour (True), or give up after `timeout_s` (False)."""
    chart = page.locator(".js-plotly-plot:has(canvas)").first
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if painted_share(chart.screenshot()) > 0.025:
            return True
        page.wait_for_timeout(250)  # between two looks at the pixels, not a fixed wait for the paint
    return False


def wait_for_charts(page, minimum: int = 1, timeout_ms: int = 30_000) -> None:
    """Wait until at least `minimum` charts are on the page, all plotted, their maps painted."""
    page.wait_for_function(CHARTS_DRAWN, arg=minimum, timeout=timeout_ms)


DEMO_BUTTONS = {"analyste": "Entrer comme analyste", "comite": "Entrer comme comité de pilotage",
                "financeur": "Entrer comme financeur"}


def sign_in(page, role: str = "analyste") -> None:
    """Sign in on the form the app shows: a demo account's button on the demo, else the test account."""
    page.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
    button = page.get_by_role("button", name=DEMO_BUTTONS[role])
    if button.count():
        button.click()
    else:
        page.get_by_label("Identifiant").fill(f"test-{role}")
        page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Se connecter").wait_for(state="detached", timeout=30_000)
    wait_for_app(page)


def open_page(page, url: str, role: str = "analyste") -> None:
    """Open an address as a person does: the app asks to sign in, then shows that address."""
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
    sign_in(page, role)
