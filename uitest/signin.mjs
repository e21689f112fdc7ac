// signin.mjs is the production topology's browser (uitest/signin_test.go):
// Debian's Chromium, headless, driven by playwright-core. A person signs in
// to Temporal's UI server through the OpenID Connect provider (its login
// and consent pages), opens a case, whose summary the UI decrypts through
// carebridge's codec endpoint with the person's token, and sends the
// `pause` update. It prints what it saw as JSON; screenshots go to OUT_DIR.
//
// Environment: UI_URL, CASE_ID, CASE_SUMMARY, LOGIN (the person), OUT_DIR,
// CHROMIUM.
import { chromium } from 'playwright-core';

const { UI_URL, CASE_ID, CASE_SUMMARY, LOGIN, OUT_DIR, CHROMIUM } = process.env;
const wait = 60_000; // generous: CI's machine may be slow
const seen = { login: LOGIN };

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
});
try {
  // The stack's throwaway CA signed every certificate (UI, provider, codec).
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: `${OUT_DIR}/${LOGIN}-${name}.png`, fullPage: true });
  const frameTexts = async () => {
    const texts = [];
    for (const frame of page.frames()) {
      texts.push(await frame.locator('body').innerText().catch(() => ''));
    }
    return texts.join('\n');
  };
  // until waits for text on the page (any frame), or the wait ends.
  const until = async (pattern) => {
    const deadline = Date.now() + wait;
    while (Date.now() < deadline) {
      if (pattern.test(await frameTexts())) {
        return true;
      }
      await page.waitForTimeout(250);
    }
    return false;
  };

  // Sign in: the UI's own button, then the provider's login and consent.
  await page.goto(UI_URL);
  await page.getByRole('button', { name: /sign in|log ?in|continue/i }).first().click({ timeout: wait });
  await page.locator('input[name="login"]').fill(LOGIN, { timeout: wait });
  await page.locator('input[name="password"]').fill('any');
  await shot('provider-login');
  await page.locator('button[type="submit"]').click();
  const consent = page.locator('form button[type="submit"]');
  if (await consent.isVisible({ timeout: 10_000 }).catch(() => false)) {
    await consent.click();
  }
  await page.waitForURL((u) => u.toString().startsWith(UI_URL) && !u.pathname.startsWith('/auth'), { timeout: wait });
  seen.signedIn = await until(/Workflows/);

  // The case, decrypted through the codec endpoint with the person's token.
  await page.goto(`${UI_URL}/namespaces/default/workflows/${encodeURIComponent(CASE_ID)}`);
  await page.getByText('User Metadata').first().click({ timeout: wait });
  seen.caseSummary = await until(new RegExp(CASE_SUMMARY.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await shot('case');

  // The pause update.
  await page.getByRole('button', { name: /More Actions/i }).click({ timeout: wait });
  await page.getByRole('menuitem', { name: /Send an Update/i }).click({ timeout: wait });
  await page.getByRole('button', { name: 'Select an Update' }).click({ timeout: wait });
  await page.getByRole('option', { name: /^pause/ }).click({ timeout: wait });
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: /^(submit|send|confirm)/i }).click({ timeout: wait });
  // Either the dialog closes (the update was accepted; the Go test then
  // asks the case whether it is paused) or it shows the authorizer's
  // refusal; neither within the wait leaves it unset, which the Go test
  // refuses.
  seen.refused = await Promise.race([
    dialog.getByText(/permission|denied|unauthori[sz]ed|not authorized/i).first()
      .waitFor({ state: 'visible', timeout: wait }).then(() => true, () => undefined),
    dialog.waitFor({ state: 'hidden', timeout: wait }).then(() => false, () => undefined),
  ]);
  seen.afterUpdate = await frameTexts();
  await shot('update');
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
