// The console's sandbox chat in a real browser (Debian's chromium, headless, playwright-core)
// against the real qunzhu binary on port 0 over the demo community, with the learning-camp
// preset applied to `camp` (its sandbox group camp-1 is moderated and welcomes newcomers).
//   node sandbox.test.mjs QUNZHU_BINARY SCREENSHOT_DIR
// Signs in as an operator and opens the sandbox chat on camp-1: the conversation equals the API's;
// the feed is live (the WebSocket, not polling). A new member joins through the page and the
// bot's welcome appears; the member posts an ad and it shows as deleted, with the bot's deletion
// and warning, without reloading. A message posted by someone else through the API appears on its
// own (pushed). A member named like HTML is shown as text. zh/en switch. Any console error or
// uncaught exception fails the test. Screenshots and timings.json go to SCREENSHOT_DIR.
import fs from 'node:fs';
import { assert, assertEqual, launchBrowser, shooter, signIn, startServer, timer, waitFor, watchedPage, writeTimings } from './lib.mjs';

const [binary, shots] = process.argv.slice(2);
if (!binary || !shots) {
  console.error('usage: node sandbox.test.mjs QUNZHU_BINARY SCREENSHOT_DIR');
  process.exit(2);
}
const XSS = '<img src=x onerror=alert(1)>';
const OPERATOR = { name: 'ops', role: 'operator', password: 'browser-operator-pw-1' };
const GROUP = 'camp-1';
const DATA_MS = 15000;
const shot = shooter(shots);
const timings = {};
const timed = timer(timings);
const problems = [];

const server = await startServer(binary, { accounts: [OPERATOR] });
let browser;
let watch = { step: 'seed' };
const conversation = async () => (await server.get(`/api/v1/sandbox/groups/${GROUP}/messages?limit=1000`)).messages;
const entries = (page) => page.locator('[data-test=sandbox-entry]');
const ofKind = (page, kind) => page.locator(`[data-test=sandbox-entry][data-kind=${kind}]`);

try {
  const preset = fs.readFileSync(new URL('../../playbooks/learning-camp.toml', import.meta.url), 'utf8');
  const applied = await server.api('PUT', '/api/v1/communities/camp/playbook', preset, 'application/toml');
  assertEqual(applied.status, 200, `applying the learning-camp preset (${JSON.stringify(applied.body)})`);
  await server.post(`/api/v1/sandbox/groups/${GROUP}/messages`, { member: 'old1', name: '老学员', text: '早上好' });

  browser = await launchBrowser();
  watch = await watchedPage(browser, { problems });
  const { page } = watch;
  await page.goto(`${server.base}/sandbox?group=${GROUP}`);
  await page.waitForURL(/\/sign-in/);
  await signIn(page, OPERATOR.name, OPERATOR.password);

  watch.step = 'the conversation';
  const before = await conversation();
  await timed('sandbox_ms', async () => {
    await page.waitForURL((u) => u.pathname === '/sandbox');
    await waitFor('the conversation as the API has it', async () => (await entries(page).count()) === before.length, DATA_MS);
  });
  await waitFor('the live feed', async () => (await page.locator('[data-test=sandbox-mode]').innerText()).trim() === '实时', DATA_MS);
  await shot(page, 's01-sandbox');

  watch.step = 'a join through the page';
  await page.locator('input[data-test=sandbox-member]').fill('newbie');
  await page.locator('input[data-test=sandbox-name]').fill(XSS);
  await timed('join_to_welcome_ms', async () => {
    await page.locator('[data-test=sandbox-join]').click();
    await ofKind(page, 'join').last().waitFor({ timeout: DATA_MS });
    await waitFor('the welcome', async () => (await ofKind(page, 'bot').count()) >= 1, DATA_MS);
  });
  assert((await ofKind(page, 'join').last().innerText()).includes(XSS), 'the HTML-like name shown as text');
  assertEqual(await page.locator('[data-test=sandbox-transcript] img').count(), 0, 'no element made of a member\'s name');

  watch.step = 'an ad through the page';
  const ad = '加我微信 vx20240101 免费领取资料 https://spam.example.com/get';
  await timed('ad_to_deleted_ms', async () => {
    await page.locator('input[data-test=sandbox-text]').fill(ad);
    await page.locator('[data-test=sandbox-send]').click();
    await waitFor('the ad shown deleted', async () =>
      (await page.locator('[data-test=sandbox-entry][data-kind=message][data-deleted=true]').count()) === 1, DATA_MS);
    await ofKind(page, 'delete').first().waitFor({ timeout: DATA_MS });
  });
  const deleted = page.locator('[data-test=sandbox-entry][data-kind=message][data-deleted=true]');
  assert((await deleted.innerText()).includes(ad), 'the deleted message is the ad, as typed');
  await ofKind(page, 'warn').first().waitFor({ timeout: DATA_MS });
  await shot(page, 's02-sandbox-ad-deleted');

  watch.step = 'pushed: someone else posts';
  await server.post(`/api/v1/sandbox/groups/${GROUP}/messages`, { member: 'old1', name: '老学员', text: '今天的作业交了吗' });
  await timed('pushed_message_ms', async () => {
    await page.locator('[data-test=sandbox-entry][data-kind=message]', { hasText: '今天的作业交了吗' }).waitFor({ timeout: DATA_MS });
  });
  await waitFor('the page equals the API', async () => (await entries(page).count()) === (await conversation()).length, DATA_MS);

  watch.step = 'English';
  await page.locator('[data-test=locale-switch]').click();
  await waitFor('English texts', async () => (await page.locator('[data-test=sandbox-send]').innerText()).trim() === 'Send', DATA_MS);
  await shot(page, 's03-sandbox-en');

  if (problems.length) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
  writeTimings(shots, timings);
  console.log(`timings (ms): ${JSON.stringify(timings)}`);
  console.log('1 passed, 0 failed');
} catch (e) {
  console.error(`failed at step "${watch.step}":`, e);
  if (problems.length) console.error(problems.join('\n'));
  console.error('--- qunzhu log (last 60 lines) ---\n' + server.log().split('\n').slice(-60).join('\n'));
  try { if (watch.page) await shot(watch.page, 'failure'); } catch { /* no page */ }
  process.exitCode = 1;
} finally {
  await browser?.close();
  await server.stop();
}
