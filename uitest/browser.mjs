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
  // The UI renders summaries and details (markdown) in frames of their
  // own: look in every frame, until the text shows or the wait ends.
  const visible = async (text) => {
    const deadline = Date.now() + wait;
    while (Date.now() < deadline) {
      for (const frame of page.frames()) {
        if (await frame.getByText(text, { exact: false }).first().isVisible().catch(() => false)) {
          return true;
        }
      }
      await page.waitForTimeout(250);
    }
    return false;
  };
  const frameTexts = async () => {
    const texts = [];
    for (const frame of page.frames()) {
      texts.push(await frame.locator('body').innerText().catch(() => ''));
    }
    return texts.join('\n');
  };
  const workflow = (id) => `${UI_URL}/namespaces/default/workflows/${encodeURIComponent(id)}`;

  // The runbook's query finds the case that needs attention.
  const query = encodeURIComponent('CarebridgeStatus="needs_attention"');
  await page.goto(`${UI_URL}/namespaces/default/workflows?query=${query}`);
  seen.listFindsTheCase = await visible(CASE_ID);
  await shot('workflows');

  // The send's page: its summary (decrypted through the codec endpoint)
  // and each step's.
  await page.goto(workflow(SEND_ID));
  await page.getByText('User Metadata').first().click({ timeout: wait });
  seen.sendSummary = await visible(SEND_SUMMARY);
  seen.sendStepSummaries = await visible('post the vip_tlc_bunionectomy_ect lead to Alleviate');
  await shot('send');

  // The case's page: its summary and current details.
  await page.goto(workflow(CASE_ID));
  await page.getByText('User Metadata').first().click({ timeout: wait });
  seen.caseSummary = await visible(CASE_SUMMARY);
  seen.caseWaitingFor = await visible('an operator: retry or skip the failed step');
  seen.caseAttention = await visible('Needs attention:');
  seen.casePage = await frameTexts();
  await shot('case');

  // The update dialog lists the described handlers.
  await page.getByRole('button', { name: /More Actions/i }).click({ timeout: wait });
  await page.getByRole('menuitem', { name: /Send an Update/i }).click({ timeout: wait });
  await page.getByRole('button', { name: 'Select an Update' }).click({ timeout: wait });
  await page.getByRole('option').first().waitFor({ state: 'visible', timeout: wait });
  seen.updateOptions = await page.getByRole('option').allInnerTexts();
  await shot('update-dialog');
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
