#!/usr/bin/env python3
"""The submission form of `chorus serve`, in a real browser with JavaScript off.

Makes a store with test-only keys in a temporary folder, starts `chorus serve` on a free loopback
port, and drives headless Chromium (Debian's chromium and chromedriver, through Selenium) with
JavaScript disabled, as a person would: clicks the labels, types the year and a multi-line story
with non-ASCII characters, and sends it. Then checks that

  - JavaScript is really off (a page whose script would change its title keeps its title) and the
    form has no script;
  - the browser's own validation (the required attributes) keeps a form with a required question
    unanswered, or with no story, from being sent: nothing reaches the store;
  - a form sent without an answer to the one required question HTML cannot enforce (checkboxes)
    comes back with the problem said, the choices and the story filled in again, and nothing stored;
  - the receipt page shows a receipt of 7 groups of 4;
  - `chorus batch` and `chorus review` give back the story byte for byte (the browser's CRLF line
    breaks as LF) and the answers clicked.

Usage: Tests/Browser/form_test.py [CHORUS] [--screenshots DIR] [--keep]
  CHORUS          the chorus binary (default: $CHORUS, else .build/debug/chorus of this repository)
  --screenshots   also write PNGs of the pages (desktop and 390 px wide) into DIR
  --keep          keep the temporary folder (printed), for a look after a failure
Only loopback addresses are used. Exit 0 when every check passes, 1 when one fails, 2 on bad usage.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
PASSPHRASE = "a passphrase for tests\n"
RECEIPT = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){6}$")
# What the person types: several lines, non-ASCII letters and punctuation, an emoji (outside the
# BMP), a blank line, and spaces at the ends of lines, which must all survive (no tab: the Tab key
# moves to the next field).
STORY = ("It started in my second week — at the café near the office.\n"
         "He said “nobody will believe you”. Naïve of me to stay quiet 😔\n"
         "\n"
         "  Two years later I can write it down. \n"
         "Ünïcödé and 日本語 stay as typed.")
# The answers clicked (question id -> values), and the year typed.
CHOSEN = {
    "kind": ["verbal", "physical"],
    "setting": ["healthcare"],
    "perpetrator-role": ["colleague"],
    "reported": ["no"],
    "consent": ["quote-anonymously"],
}
YEAR = "2019"
WAIT = 15  # seconds any one expected page or element may take


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def step(message):
    print(f"form_test: {message}", flush=True)


class Store:
    """A temporary folder with test-only keys, a store whose recipients the organisation signed,
    and its own HOME (chorus pins organisation keys under ~/.config)."""

    def __init__(self, chorus, root):
        self.chorus = chorus
        self.root = root
        home = root / "home"
        home.mkdir()
        self.env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
        self.store = root / "store"
        (root / "pass").write_text(PASSPHRASE)
        self.run("keygen", "--name", "org", "--role", "organisation", "--passphrase-file", "pass",
                 "--secret-out", "org.key", "--public-out", "org.pub", "--kdf-cost", "test-only")
        self.run("keygen", "--name", "rev", "--role", "reviewer", "--passphrase-file", "pass",
                 "--secret-out", "rev.key", "--public-out", "Keys/rev.pub", "--kdf-cost", "test-only")
        self.run("init", "--store", "store")
        self.run("recipients", "add", "--store", "store", "--org-key", "org.key", "--passphrase-file", "pass",
                 "Keys/rev.pub")

    def run(self, *args):
        done = subprocess.run([self.chorus, *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise Failure(f"chorus {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done.stdout

    def inbox(self):
        return sorted(p.name for p in (self.store / "inbox").iterdir())


class Server:
    """`chorus serve` on a free loopback port; stop() sends SIGTERM and waits."""

    def __init__(self, store):
        self.errors = store.root / "serve.err"
        self.errfile = open(self.errors, "w")
        self.process = subprocess.Popen([store.chorus, "serve", "--store", "store", "--listen", "127.0.0.1:0"],
                                        cwd=store.root, env=store.env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.errfile)
        deadline = time.monotonic() + WAIT
        while True:
            found = re.search(r"chorus serve: listening on http://127\.0\.0\.1:(\d+)[ /]", self.errors.read_text())
            if found:
                self.base = f"http://127.0.0.1:{found.group(1)}"
                break
            if self.process.poll() is not None:
                raise Failure(f"chorus serve exited {self.process.returncode} before listening:\n{self.errors.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise Failure(f"chorus serve printed no 'listening on' line in {WAIT} s:\n{self.errors.read_text()}")
            time.sleep(0.05)

    def stop(self):
        """The exit status after SIGTERM (None if it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.errfile.close()
                return None
        self.errfile.close()
        return self.process.returncode


def start_browser(root, downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        options.binary_location = browser
    for argument in ["--headless=new", "--no-sandbox", f"--user-data-dir={root / 'chromium-profile'}",
                     "--window-size=1000,900", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--lang=en-GB", "--hide-scrollbars"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "profile.managed_default_content_settings.javascript": 2,
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    })
    driver = shutil.which("chromedriver")
    # An explicit chromedriver: Selenium's own manager would otherwise try to download one.
    service = Service(executable_path=driver, log_output=str(root / "chromedriver.log")) if driver else Service()
    return webdriver.Chrome(service=service, options=options)


class Form:
    def __init__(self, driver, base, downloads):
        self.d = driver
        self.base = base
        self.downloads = downloads

    def wait(self, condition, what):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        # A page the browser saves as a download instead of showing it ends the wait at once.
        downloaded = object()
        try:
            found = WebDriverWait(self.d, WAIT, poll_frequency=0.05).until(
                lambda d: condition(d) or (downloaded if any(self.downloads.iterdir()) else False))
        except TimeoutException:
            raise Failure(f"{what}: not there after {WAIT} s (at {self.d.current_url}, title {self.d.title!r})\n"
                          f"{self.explain()}")
        if found is downloaded:
            raise Failure(f"{what}: not there: the browser saved the page as a download\n{self.explain()}")
        return found

    def explain(self):
        """Why a page may not have been shown: a download instead, or what its headers said."""
        notes = []
        got = sorted(p.name for p in self.downloads.iterdir())
        if got:
            notes.append(f"the browser downloaded {got} instead of showing the page")
        try:
            with urllib.request.urlopen(self.base + "/", timeout=5) as reply:
                kind = reply.headers.get("Content-Type", "")
                notes.append(f"GET / answers Content-Type: {kind[:120]!r}{'...' if len(kind) > 120 else ''}"
                             f"{'' if kind.startswith('text/html') else ' (not text/html: a browser will not show it)'}")
        except Exception as error:  # only a diagnosis
            notes.append(f"GET / failed: {error}")
        return "\n".join(notes)

    def open(self):
        from selenium.webdriver.common.by import By
        self.d.get(self.base + "/")
        self.wait(lambda d: d.find_elements(By.ID, "f-story"), "the form's story field")
        check(self.d.title.startswith("Chorus"), f"the form's title is {self.d.title!r}")
        fieldsets = self.d.find_elements(By.TAG_NAME, "fieldset")
        check(len(fieldsets) == 7, f"the form has {len(fieldsets)} fieldsets, not 7 (6 questions and the story)")

    def control(self, name, value):
        from selenium.webdriver.common.by import By
        found = self.d.find_elements(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]')
        check(len(found) == 1, f"{len(found)} inputs with name={name!r} value={value!r}")
        return found[0]

    def click_label(self, name, value):
        """Clicks the label of a choice (as a person would), and checks it got chosen."""
        from selenium.webdriver.common.by import By
        box = self.control(name, value)
        labels = self.d.find_elements(By.CSS_SELECTOR, f'label[for="{box.get_attribute("id")}"]')
        check(len(labels) == 1, f"the choice {name}={value} has {len(labels)} labels")
        labels[0].click()
        check(box.is_selected(), f"clicking the label of {name}={value} did not choose it")

    def fill(self, skip=(), story=STORY):
        from selenium.webdriver.common.by import By
        for name, values in CHOSEN.items():
            if name not in skip:
                for value in values:
                    self.click_label(name, value)
        year = self.d.find_element(By.ID, "f-year")
        self.d.find_element(By.CSS_SELECTOR, 'label[for="f-year"]').click()
        year.send_keys(YEAR)
        check(year.get_property("value") == YEAR, f"the year field holds {year.get_property('value')!r}")
        area = self.d.find_element(By.ID, "f-story")
        check(area.get_attribute("name") == "story", "the textarea #f-story is not named 'story'")
        area.click()
        if story:
            area.send_keys(story)  # "\n" is the Enter key: a line break in a textarea
        typed = area.get_property("value")
        check(typed == story, f"the story field holds {typed!r}, not what was typed")

    def submit(self):
        from selenium.webdriver.common.by import By
        buttons = self.d.find_elements(By.CSS_SELECTOR, 'form button[type="submit"]')
        check(len(buttons) == 1, f"the form has {len(buttons)} submit buttons")
        buttons[0].click()

    def full_screenshot(self, path, width=None):
        """A PNG of the whole page (not only the window), optionally as a phone of `width` CSS px."""
        import base64
        if width:
            self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        try:
            size = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
            Path(path).write_bytes(base64.b64decode(shot["data"]))
        finally:
            if width:
                self.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        step(f"wrote {path}")


def run(chorus, root, shots):
    from selenium.webdriver.common.by import By

    step(f"chorus {chorus}; temporary folder {root}")
    store = Store(chorus, root)
    server = Server(store)
    step(f"chorus serve listens on {server.base}")
    driver = None
    stopped = False
    try:
        downloads = root / "downloads"
        downloads.mkdir()
        started = time.monotonic()
        driver = start_browser(root, downloads)
        step(f"headless Chromium {driver.capabilities.get('browserVersion', '?')} started in "
             f"{time.monotonic() - started:.1f} s")
        form = Form(driver, server.base, downloads)

        # 1. JavaScript is off: a script that would change the title does not run.
        driver.get("data:text/html;charset=utf-8,<title>script did not run</title>"
                   "<script>document.title='script ran'</script><p>probe</p>")
        form.wait(lambda d: d.find_elements(By.TAG_NAME, "p"), "the JavaScript probe page")
        check(driver.title == "script did not run", f"JavaScript is on: the probe's title became {driver.title!r}")
        step("JavaScript is off in this browser")

        # 2. The form, with no script of its own.
        form.open()
        check(not driver.find_elements(By.TAG_NAME, "script") and "<script" not in driver.page_source.lower(),
              "the form page has a <script>")
        check(not driver.find_elements(By.CSS_SELECTOR, "[onclick],[onsubmit],[onload],[onchange],[oninput]"),
              "the form page has inline event handlers")
        styled = driver.find_element(By.TAG_NAME, "main").value_of_css_property("max-width")
        check(styled not in ("none", ""), f"the stylesheet did not apply (main's max-width is {styled!r})")
        step("the form is shown, with no script, and styled by /style.css")
        if shots:
            form.full_screenshot(shots / "form.png")
            form.full_screenshot(shots / "form-390.png", width=390)

        # 3. The browser's own validation keeps an incomplete form from being sent.
        for skipped, story, what in [(("reported",), STORY, "the required question 'reported' unanswered"),
                                     ((), "", "no story")]:
            form.open()
            form.fill(skip=skipped, story=story)
            form.submit()
            invalid = driver.find_elements(By.CSS_SELECTOR, "form input:invalid, form textarea:invalid")
            check(invalid, f"with {what}, no field of the form is :invalid")
            check(driver.current_url.rstrip("/") == server.base and driver.find_elements(By.ID, "f-story"),
                  f"with {what}, the browser left the form (now at {driver.current_url})")
            names = sorted({e.get_attribute("name") for e in invalid})
            expected = ["reported"] if skipped else ["story"]
            check(names == expected, f"with {what}, the invalid fields are {names}")
            # The browser's interactive validation, which cancels the submission, focuses the first
            # invalid field: the sign that the form was checked and not sent.
            focused = driver.switch_to.active_element.get_attribute("name")
            check(focused == expected[0], f"with {what}, the focus is on {focused!r}, not on the invalid field "
                  f"{expected[0]!r}: the browser's validation did not stop the form")
            check(store.inbox() == [], f"with {what}, the store's inbox holds {store.inbox()}")
            step(f"with {what}, the browser does not send the form (invalid: {', '.join(names)}); the inbox is empty")

        # 4. 'kind' is required but is checkboxes, which HTML cannot require: the server sends the
        #    form back, saying so, with everything filled in again, and stores nothing.
        form.open()
        form.fill(skip=("kind",))
        form.submit()
        form.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".problem[role=alert]"), "the form sent back with a problem")
        problem = driver.find_element(By.CSS_SELECTOR, ".problem").text
        check("what happened" in problem.lower(), f"the problem shown does not name the question: {problem!r}")
        again = driver.find_element(By.ID, "f-story").get_property("value")
        check(again == STORY, f"the story filled in again is {again!r}, not the one typed")
        for name, values in CHOSEN.items():
            if name != "kind":
                for value in values:
                    check(form.control(name, value).is_selected(), f"{name}={value} is not chosen again")
        check(driver.find_element(By.ID, "f-year").get_property("value") == YEAR, "the year is not filled in again")
        check(store.inbox() == [], f"after the form came back, the store's inbox holds {store.inbox()}")
        step(f"without 'kind', the form comes back ({problem.splitlines()[-1]!r}), filled in again; the inbox is empty")
        if shots:
            form.full_screenshot(shots / "form-problem.png")

        # 5. The whole form, sent.
        form.open()
        form.fill()
        if shots:
            form.full_screenshot(shots / "form-filled.png")
        form.submit()
        form.wait(lambda d: d.find_elements(By.ID, "receipt"), "the receipt page's <code id=receipt>")
        receipt = driver.find_element(By.ID, "receipt").text.strip()
        check(RECEIPT.match(receipt), f"the receipt {receipt!r} is not 7 groups of 4 letters or digits")
        check(driver.find_element(By.ID, "receipt").tag_name == "code", "the receipt is not in a <code>")
        # Exactly one: none of the forms the browser stopped, nor the one sent back, reached the store.
        check(len(store.inbox()) == 1, f"after sending, the store's inbox holds {store.inbox()}, not 1 entry")
        step(f"the receipt page shows {receipt[:4]}-…; the inbox holds 1 entry")
        if shots:
            form.full_screenshot(shots / "receipt.png")
            form.full_screenshot(shots / "receipt-390.png", width=390)

        # 6. What the reviewer opens is what was typed and clicked.
        store.run("batch", "--store", "store")
        check(store.inbox() == [], f"after chorus batch, the inbox holds {store.inbox()}")
        lines = store.run("review", "--key", "rev.key", "--passphrase-file", "pass", "store",
                          "--format", "jsonl").splitlines()
        check(len(lines) == 1, f"chorus review shows {len(lines)} stories, not 1")
        entry = json.loads(lines[0])
        check(entry.get("story") == STORY,
              f"the story comes back as {entry.get('story')!r},\nnot as typed: {STORY!r}")
        check(entry["story"].encode() == STORY.encode(), "the story's bytes differ")
        expected = {name: sorted(values) for name, values in CHOSEN.items()}
        expected["year"] = [YEAR]
        answers = {name: sorted(values) for name, values in entry.get("answers", {}).items()}
        check(answers == expected, f"the answers come back as {answers}, not {expected}")
        check(entry.get("quotable") is True, f"consent quote-anonymously, but quotable is {entry.get('quotable')!r}")
        step("chorus review gives back the story byte for byte and the answers clicked")
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as error:
                print(f"form_test: could not stop the browser: {error}", file=sys.stderr)
        status = server.stop()
        stopped = True
    check(stopped and status == 0,
          f"chorus serve exited {status} on SIGTERM, not 0:\n{server.errors.read_text()}")
    step("chorus serve stopped cleanly on SIGTERM")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chorus", nargs="?", default=os.environ.get("CHORUS", str(REPO / ".build/debug/chorus")))
    parser.add_argument("--screenshots", metavar="DIR")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    chorus = os.path.abspath(args.chorus)
    if not os.access(chorus, os.X_OK):
        print(f"form_test: {args.chorus} is not an executable chorus binary (build it, or pass its path)", file=sys.stderr)
        return 2
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("form_test: selenium is missing (python3 -m pip install selenium; make browser-check does it)", file=sys.stderr)
        return 2
    shots = None
    if args.screenshots:
        shots = Path(args.screenshots).resolve()
        shots.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="chorus-browser."))
    try:
        run(chorus, root, shots)
    except Failure as failure:
        print(f"form_test: FAIL: {failure}", file=sys.stderr)
        return 1
    except Exception:
        import traceback
        print("form_test: FAIL: an unexpected error:", file=sys.stderr)
        traceback.print_exc()
        return 1
    finally:
        if args.keep:
            print(f"form_test: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"form_test: PASS in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
