// browser.mjs is make test-ui's browser: Debian's Chromium, headless, driven
// by playwright-core through the Temporal Web UI as an operator would use
// it. uitest/ui_test.go starts the stack and the runs, then this script; it
// prints what it saw as JSON on stdout (the Go test asserts on it) and saves
// screenshots in OUT_DIR.
import { chromium } from 'playwright-core';

const { UI_URL, SEND_ID, SEND_SUMMARY, CASE_ID, CASE_SUMMARY, OUT_DIR, CHROMIUM } = process.env;
const wait = 60_000; // generous: CI's machine may be slow
const seen = {};

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const shot = (name) => page.screenshot({ path: `${OUT_DIR}/${name}.png`, fullPage: true });
  const visible = async (text) => {
    try {
      await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: wait });
      return true;
    } catch {
      return false;
    }
  };

  // The workflow list: each run's summary, decrypted through the codec.
  await page.goto(`${UI_URL}/namespaces/default/workflows`);
  seen.listShowsSendSummary = await visible(SEND_SUMMARY);
  seen.listShowsCaseSummary = await visible(CASE_SUMMARY);
  await shot('workflows');

  // The send's page: its summary and its steps.
  await page.goto(`${UI_URL}/namespaces/default/workflows/${encodeURIComponent(SEND_ID)}`);
  seen.sendPageShowsSummary = await visible(SEND_SUMMARY);
  await shot('send');

  // The case's page: its current details.
  await page.goto(`${UI_URL}/namespaces/default/workflows/${encodeURIComponent(CASE_ID)}`);
  seen.casePageShowsDetails = await visible('Waiting for');
  seen.casePageShowsAttention = await visible('Needs attention');
  seen.caseDetails = (await page.locator('body').innerText()).split('\n').filter((l) => /Waiting for|Needs attention|Akute patient|carebridge:/.test(l));
  await shot('case');

  // The update dialog lists the described handlers.
  await page.getByRole('button', { name: /workflow actions|request cancellation|actions/i }).first().click({ timeout: wait }).catch(() => {});
  const item = page.getByText('Send an Update', { exact: false }).first();
  await item.waitFor({ state: 'visible', timeout: wait });
  await item.click();
  await page.getByRole('dialog').first().waitFor({ state: 'visible', timeout: wait });
  const combo = page.getByRole('dialog').getByRole('combobox').first();
  await combo.click({ timeout: wait }).catch(() => {});
  await page.waitForTimeout(500); // the menu opens with an animation; the screenshot shows it open
  seen.updateDialog = await page.getByRole('dialog').first().innerText();
  seen.updateOptions = await page.getByRole('option').allInnerTexts().catch(() => []);
  await shot('update-dialog');
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
