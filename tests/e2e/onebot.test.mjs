// End-to-end: qunzhu against a fake OneBot v11 implementation (what NapCat / LLOneBot /
// Lagrange.OneBot do over HTTP): it posts signed event reports to /webhooks/qq and receives
// qunzhu's actions on its HTTP API, checking the access token. A member joins and is welcomed,
// asks a question the FAQ answers, and posts an ad that is deleted and warned about; a report
// with a wrong signature or for another account is refused and changes nothing. Someone asks to
// join (a join request: known, not yet a member), a member is made an admin (their role), and
// the bot is removed from the group and added again (the group's bot_present). With [roster],
// the group's member list is synced on first sight: the owner the fake lists becomes known.
//   node onebot.test.mjs /path/to/qunzhu
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { reportFailure, scratch, startQunzhu, waitFor, writeTestPlaybook } from './lib.mjs';

const binary = process.argv[2];
assert.ok(binary, 'usage: node onebot.test.mjs QUNZHU_BINARY');

const SELF = 10001;
const GROUP = 600001;
const SECRET = 'onebot-e2e-secret';
const ACCESS = 'onebot-e2e-access';

// The implementation's HTTP API: records calls; refuses a wrong access token as NapCat does.
const calls = [];
let nextMessage = 5000;
const api = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (req.headers.authorization !== `Bearer ${ACCESS}`) {
      res.writeHead(401).end();
      return;
    }
    const action = req.url.slice(1);
    calls.push({ action, params: JSON.parse(body) });
    let data = action.startsWith('send_') ? { message_id: nextMessage++ } : null;
    if (action === 'get_group_member_list') {
      data = [{ group_id: GROUP, user_id: 7001, nickname: '小明', card: '', role: 'member' },
        { group_id: GROUP, user_id: 7005, nickname: 'boss', card: '群主', role: 'owner' },
        { group_id: GROUP, user_id: SELF, nickname: 'bot', role: 'admin' }];
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', retcode: 0, data }));
  });
});
await new Promise((r) => api.listen(0, '127.0.0.1', r));

const dir = scratch('qz-e2e-onebot-');
const config = path.join(dir, 'qunzhu.toml');
fs.writeFileSync(config, `
[platforms.qq]
self_id = "${SELF}"
api_url = "http://127.0.0.1:${api.address().port}"
access_token = { env = "QZ_E2E_ONEBOT_ACCESS" }
secret = { env = "QZ_E2E_ONEBOT_SECRET" }
`);
const playbook = writeTestPlaybook(dir, { slug: 'qq', name: 'QQ 测试社群', platform: 'qq', group: GROUP });
fs.appendFileSync(playbook, '\n[roster]\n');
const qz = await startQunzhu(binary, dir, {
  config, playbook, env: { QZ_E2E_ONEBOT_ACCESS: ACCESS, QZ_E2E_ONEBOT_SECRET: SECRET },
});

function report(event, { secret = SECRET, self = SELF } = {}) {
  const body = JSON.stringify(event);
  const signature = 'sha1=' + crypto.createHmac('sha1', secret).update(body).digest('hex');
  return fetch(`${qz.url}/webhooks/qq`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Self-ID': String(self), 'X-Signature': signature },
    body,
  });
}
const now = () => Math.floor(Date.now() / 1000);
const groupMessage = (id, message, extra = {}) => ({
  time: now(), self_id: SELF, post_type: 'message', message_type: 'group', sub_type: 'normal',
  message_id: id, group_id: GROUP, user_id: 7001, message, raw_message: '', font: 0,
  sender: { user_id: 7001, nickname: '小明', card: '', role: 'member' }, ...extra,
});
const sent = (pred) => calls.find((c) => c.action === 'send_group_msg' && c.params.group_id === GROUP && pred(c));
const textOf = (c) => c.params.message.filter((s) => s.type === 'text').map((s) => s.data.text).join('');
const get = async (route) => (await fetch(`${qz.url}${route}`, { headers: { Authorization: `Bearer ${qz.token}` } })).json();
const members = () => get('/api/v1/members?limit=1000');
const memberNamed = async (name) => (await members()).members.find((m) => m.display_name === name);
const theGroup = async () => (await get('/api/v1/groups')).groups.find((g) => g.external_id === String(GROUP));

try {
  // Refused: a wrong signature, an unknown account. Nothing is ingested.
  const join = { time: now(), self_id: SELF, post_type: 'notice', notice_type: 'group_increase',
    sub_type: 'approve', group_id: GROUP, user_id: 7001, operator_id: 0 };
  assert.equal((await report(join, { secret: 'wrong' })).status, 401);
  assert.equal((await report({ ...join, self_id: 20002 }, { self: 20002 })).status, 401);
  assert.ok(!JSON.stringify(await members()).includes('7001'), 'nothing ingested from a refused report');

  // 1. A join is welcomed.
  assert.equal((await report(join)).status, 200);
  await waitFor('the welcome', () => sent((c) => textOf(c).includes('欢迎')));

  // 2. A question (array form) the FAQ knows is answered.
  assert.equal((await report(groupMessage(101, [{ type: 'text', data: { text: '请问怎么打卡？' } }]))).status, 200);
  await waitFor('the FAQ answer', () => sent((c) => textOf(c).includes('每天在群里发')));

  // 3. An ad (CQ-code string form) is deleted and its author warned with a reply.
  const ad = groupMessage(102, '加微信 abc12345 低价出售游戏金币[CQ:face,id=14]，私聊有优惠');
  assert.equal((await report(ad)).status, 200);
  await waitFor('the delete', () => calls.find((c) => c.action === 'delete_msg' && c.params.message_id === 102));
  await waitFor('the warning', () => sent((c) => c.params.message[0]?.type === 'reply' && String(c.params.message[0].data.id) === '102'));

  // 4. A redelivered report is a duplicate: one welcome, not two.
  assert.equal((await report(join)).status, 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(calls.filter((c) => c.action === 'send_group_msg' && textOf(c).includes('欢迎')).length, 1);

  // 5. A join request reaches the engine: the applicant is known, with what they wrote and the
  // handle that answers it, but is no member of the group yet.
  const request = { time: now(), self_id: SELF, post_type: 'request', request_type: 'group', sub_type: 'add',
    group_id: GROUP, user_id: 7003, comment: '问题：暗号\n答案：芝麻开门', flag: 'flag-7003' };
  assert.equal((await report(request)).status, 200);
  const applicant = await waitFor('the applicant', () => memberNamed('7003'));
  const asked = (await get(`/api/v1/members/${applicant.id}/events`)).events;
  assert.equal(asked.length, 1);
  assert.equal(asked[0].type, 'join_request');
  assert.equal(asked[0].id, `${SELF}:request:${GROUP}:7003:${request.time}`);
  assert.equal(asked[0].request, `${SELF}:flag-7003`);
  assert.equal(asked[0].text, '问题：暗号\n答案：芝麻开门');
  assert.deepEqual((await get(`/api/v1/members/${applicant.id}`)).memberships, [], 'asking is not being in the group');

  // 6. A member made an admin has that role in the group.
  const xiaoming = await memberNamed('小明');
  assert.ok(xiaoming, 'the member who joined');
  assert.equal((await get(`/api/v1/members/${xiaoming.id}`)).memberships[0].role, 'member');
  assert.equal((await report({ time: now(), self_id: SELF, post_type: 'notice', notice_type: 'group_admin',
    sub_type: 'set', group_id: GROUP, user_id: 7001 })).status, 200);
  await waitFor('the admin role', async () => (await get(`/api/v1/members/${xiaoming.id}`)).memberships[0].role === 'admin');

  // 7. The bot removed from the group, then added again: the group says whether it is there.
  assert.equal((await theGroup()).bot_present, true);
  const kicked = { time: now(), self_id: SELF, post_type: 'notice', notice_type: 'group_decrease', sub_type: 'kick_me',
    group_id: GROUP, user_id: SELF, operator_id: 7001 };
  assert.equal((await report(kicked)).status, 200);
  await waitFor('the bot to be gone', async () => (await theGroup()).bot_present === false);
  assert.equal((await report({ ...kicked, time: kicked.time + 1, notice_type: 'group_increase', sub_type: 'invite' })).status, 200);
  await waitFor('the bot to be back', async () => (await theGroup()).bot_present === true);

  // 8. The member list synced on the group's first sight: the owner is known with that role,
  // the bot's own account is not a member.
  const sync = calls.find((c) => c.action === 'get_group_member_list');
  assert.ok(sync, 'a member sync was asked for');
  assert.equal(sync.params.group_id, GROUP);
  const owner = await waitFor('the synced owner', () => memberNamed('群主'));
  assert.equal((await get(`/api/v1/members/${owner.id}`)).memberships[0].role, 'owner');
  assert.ok(!(await memberNamed(String(SELF))), 'the bot is no member');

  // Health.
  const platforms = await (await fetch(`${qz.url}/api/v1/platforms`, { headers: { Authorization: `Bearer ${qz.token}` } })).json();
  const qq = platforms.platforms.find((p) => p.platform === 'qq');
  assert.equal(qq.connections[0].name, String(SELF));
  assert.equal(qq.connections[0].state, 'connected');
  assert.ok(qq.connections[0].errors >= 1, 'the refused report counts');
  const log = qz.log();
  assert.ok(!log.includes(SECRET) && !log.includes(ACCESS), 'no secret is logged');
  console.log('onebot e2e: ok');
} catch (e) {
  reportFailure(e, qz, { calls });
} finally {
  await qz.stop();
  api.close();
}
