// End-to-end: qunzhu against telegram-test-api (npm), a Bot API emulator, as its API root. Users
// act through the emulator's client API; what the bot did is read from the emulator's storage.
// A member joins and is welcomed, asks a question the FAQ answers, and posts an ad that is
// deleted with a warning. Then qunzhu restarts and must not see the old updates again. Through a
// webhook, the bot is removed from the group and added again, and someone asks to join.
//   node telegram.test.mjs /path/to/qunzhu
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import TelegramServer from 'telegram-test-api';
import { freePort, reportFailure, scratch, startQunzhu, waitFor, writeTestPlaybook } from './lib.mjs';

const binary = process.argv[2];
assert.ok(binary, 'usage: node telegram.test.mjs QUNZHU_BINARY');

const BOT_TOKEN = '7000001:e2e-test-token';
const CHAT = -1001234567890;

const dir = scratch('qz-e2e-telegram-');
const port = await freePort();
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
await server.start();

const config = path.join(dir, 'qunzhu.toml');
fs.writeFileSync(config, `
[platforms.telegram]
api_root = "http://127.0.0.1:${port}"
idle_wait_ms = 100
token = { env = "QZ_E2E_TELEGRAM_TOKEN" }
`);
const playbook = writeTestPlaybook(dir, { slug: 'tg', name: '电报测试社群', platform: 'telegram', group: CHAT });

const env = { QZ_E2E_TELEGRAM_TOKEN: BOT_TOKEN };
let qz = await startQunzhu(binary, dir, { config, playbook, env });
const botTexts = () => server.storage.botMessages
  .filter((m) => Number(m.message.chat_id) === CHAT)
  .map((m) => String(m.message.text));
const alice = server.getClient(BOT_TOKEN, {
  chatId: CHAT, type: 'supergroup', chatTitle: '测试群', userId: 5001, firstName: 'Alice', userName: 'alice',
});
try {
  // 1. A join (a service message with new_chat_members) is welcomed by name.
  await alice.sendMessage(alice.makeMessage(undefined, {
    new_chat_members: [{ id: 5001, is_bot: false, first_name: 'Alice', username: 'alice' }],
  }));
  await waitFor('the welcome', () => botTexts().find((t) => t.includes('欢迎') && t.includes('Alice')));

  // 2. A question the FAQ knows is answered in the group.
  await alice.sendMessage(alice.makeMessage('请问怎么打卡？'));
  await waitFor('the FAQ answer', () => botTexts().find((t) => t.includes('每天在群里发')));

  // 3. An ad is deleted from the chat and its author warned.
  const ad = '加微信 abc12345 低价出售游戏金币，私聊有优惠';
  await alice.sendMessage(alice.makeMessage(ad));
  await waitFor('the ad to be deleted', () => !server.storage.userMessages.some((u) => u.message.text === ad));
  await waitFor('the warning', () => botTexts().find((t) => t.includes('Alice') && !t.includes('欢迎') && !t.includes('每天')));
  const ordinary = server.storage.userMessages.filter((u) => u.message.text === '请问怎么打卡？');
  assert.equal(ordinary.length, 1, 'an ordinary message stays');

  // Health: the bot's connection, in the API and in /metrics.
  const platforms = await (await fetch(`${qz.url}/api/v1/platforms`, { headers: { Authorization: `Bearer ${qz.token}` } })).json();
  const tg = platforms.platforms.find((p) => p.platform === 'telegram');
  assert.equal(tg.connections[0].name, 'bot7000001');
  assert.equal(tg.connections[0].state, 'connected');
  assert.ok(tg.connections[0].events >= 3, JSON.stringify(tg));
  assert.ok(tg.capabilities.includes('delete_message'));
  assert.equal((await fetch(`${qz.url}/api/v1/platforms`)).status, 401, 'the API needs a token');
  const metrics = await (await fetch(`${qz.url}/metrics`, { headers: { Authorization: `Bearer ${qz.token}` } })).text();
  assert.match(metrics, /qunzhu_platform_connection_up\{platform="telegram",connection="bot7000001"\} 1/);

  // 4. The polling offset is durable: after a restart, nothing is delivered twice.
  const before = botTexts().length;
  await qz.stop();
  qz = await startQunzhu(binary, dir, { config, playbook, env, reuse: true });
  const ad2 = '扣扣 123456789 代练上分，价格便宜';
  await alice.sendMessage(alice.makeMessage(ad2));
  await waitFor('an ad deleted after the restart', () => !server.storage.userMessages.some((u) => u.message.text === ad2));
  await waitFor('a warning after the restart', () => botTexts().length > before);
  assert.equal(botTexts().filter((t) => t.includes('欢迎')).length, 1, 'one welcome');
  const offsetFile = fs.readdirSync(path.join(dir, 'data')).find((f) => f.startsWith('telegram-'));
  assert.equal(offsetFile, 'telegram-7000001.offset');
  assert.ok(!qz.log().includes('e2e-test-token'), 'the token is never logged');
  // 5. Webhook mode: the emulator is told where to post; a post without the secret token is
  // refused and ingests nothing, one with it is taken.
  await qz.stop();
  const hookConfig = path.join(dir, 'webhook.toml');
  fs.writeFileSync(hookConfig, `
[platforms.telegram]
api_root = "http://127.0.0.1:${port}"
mode = "webhook"
public_url = "https://bot.example.com"
webhook_secret = { env = "QZ_E2E_TELEGRAM_SECRET" }
[[platforms.telegram.bots]]
name = "main"
token = { env = "QZ_E2E_TELEGRAM_TOKEN" }
`);
  qz = await startQunzhu(binary, dir, {
    config: hookConfig, playbook, reuse: true, env: { ...env, QZ_E2E_TELEGRAM_SECRET: 'e2e-Secret_1' },
  });
  await waitFor('setWebhook', () => server.webhooks[BOT_TOKEN]?.url === 'https://bot.example.com/webhooks/telegram/main');
  const update = {
    update_id: 9000,
    message: { message_id: 9000, date: Math.floor(Date.now() / 1000), text: 'via webhook',
      chat: { id: CHAT, type: 'supergroup', title: '测试群' }, from: { id: 5002, is_bot: false, first_name: 'Bob' } },
  };
  const hook = (secret, body = update) => fetch(`${qz.url}/webhooks/telegram/main`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(secret ? { 'X-Telegram-Bot-Api-Secret-Token': secret } : {}) },
    body: JSON.stringify(body),
  });
  assert.equal((await hook(undefined)).status, 401);
  assert.equal((await hook('wrong')).status, 401);
  const members = async () => (await (await fetch(`${qz.url}/api/v1/members?limit=1000`, {
    headers: { Authorization: `Bearer ${qz.token}` },
  })).json());
  const hasBob = (body) => JSON.stringify(body).includes('Bob');
  assert.ok(!hasBob(await members()), 'nothing ingested without the secret');
  assert.equal((await hook('e2e-Secret_1')).status, 200);
  await waitFor('the member the webhook event made', async () => hasBob(await members()));

  // 6. The bot's own membership (my_chat_member) reaches the engine: removed from the group,
  // then added again. A join request (chat_join_request) makes its applicant known.
  const botPresent = async () => {
    const groups = await (await fetch(`${qz.url}/api/v1/groups`, { headers: { Authorization: `Bearer ${qz.token}` } })).json();
    return groups.groups.find((g) => g.external_id === String(CHAT))?.bot_present;
  };
  const now = Math.floor(Date.now() / 1000);
  const chat = { id: CHAT, type: 'supergroup', title: '测试群' };
  const self = { id: 7000001, is_bot: true, first_name: 'QunzhuBot' };
  const myChatMember = (id, date, before, after) => ({
    update_id: id,
    my_chat_member: { chat, date, from: { id: 5001, is_bot: false, first_name: 'Alice' },
      old_chat_member: { status: before, user: self }, new_chat_member: { status: after, user: self } },
  });
  assert.equal(await botPresent(), true);
  assert.equal((await hook('e2e-Secret_1', myChatMember(9001, now, 'administrator', 'kicked'))).status, 200);
  await waitFor('the group without the bot', async () => (await botPresent()) === false);
  assert.equal((await hook('e2e-Secret_1', myChatMember(9002, now + 1, 'left', 'administrator'))).status, 200);
  await waitFor('the bot in the group again', async () => (await botPresent()) === true);
  const request = { update_id: 9003, chat_join_request: { chat, date: now, user_chat_id: 5003, bio: '想一起学习',
    from: { id: 5003, is_bot: false, first_name: 'Carol' } } };
  assert.equal((await hook('e2e-Secret_1', request)).status, 200);
  await waitFor('the applicant', async () => JSON.stringify(await members()).includes('Carol'));
  assert.ok(!qz.log().includes('e2e-Secret_1'), 'the secret is never logged');
  console.log('telegram e2e: ok');
} catch (e) {
  reportFailure(e, qz);
} finally {
  await qz.stop();
  await server.stop();
}
