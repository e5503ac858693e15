// The console's working pages in a real browser (Debian's chromium, headless, playwright-core)
// against the real qunzhu binary on port 0 over the demo community, with some of everything
// added through the API first: the learning-camp preset playbook for `camp`, spam in its sandbox
// group (moderation decisions, one from a member named like HTML), an appeal and a keyword ask
// (operator tasks), an invite code and joins by it and by the live code, a broadcast sent now and
// one scheduled.
//   node pages.test.mjs QUNZHU_BINARY SCREENSHOT_DIR
// Signs in as an owner and opens every page, checking what it shows against the API: members
// (search, load more, a group's members; by role, by tag (with its count), sorted by messages), a
// member (profile, memberships, the event timeline and its next page), a group's page (opened from
// Groups: its counters, its members and owners, its conversation newest first and older events,
// its outbox; one that does not exist; the sandbox group opened from a group link: a message
// holding HTML shown as text, its moderation decisions by its link), tasks (closing one,
// assigning another), moderation (the matched spans marked, as text; an undo), the outbox (all, by status), invites
// (a code's QR picture and joins), broadcasts (delivery, a cancel), playbooks (the stored TOML, a
// refused edit's error beside its line, a preset), platforms, accounts (a role per community set
// in an account's dialog; the API tokens). Switches a new page to English and
// back. Then signs in as a viewer, whose undo is disabled with a note, and as a viewer who is an
// operator in camp only (a role per community): the undo works in camp and is disabled in fans,
// and a post in a sandbox group of fans is refused with the 403 said on the page. Any console
// error or uncaught exception fails the test, except the API's refusals a step expects.
// Screenshots of each page and timings.json (how long each page took to show its data) go to
// SCREENSHOT_DIR.
import fs from 'node:fs';
import { assert, assertEqual, launchBrowser, shooter, signIn, startServer, timer, waitFor, watchedPage, writeTimings } from './lib.mjs';

const [binary, shots] = process.argv.slice(2);
if (!binary || !shots) {
  console.error('usage: node pages.test.mjs QUNZHU_BINARY SCREENSHOT_DIR');
  process.exit(2);
}
const XSS = '<img src=x onerror=alert(1)>';
const OWNER = { name: 'ops-lead', role: 'owner', password: 'browser-owner-pw-1' };
const VIEWER = { name: 'guest', role: 'viewer', password: 'browser-viewer-pw-1' };
// A viewer given the role operator inside camp (on the accounts page, by the owner).
const SCOPED = { name: 'camp-op', role: 'viewer', password: 'browser-scoped-pw-1' };
const shot = shooter(shots);
const timings = {};
const timed = timer(timings);
const problems = [];
const DATA_MS = 15000;

const server = await startServer(binary, { accounts: [OWNER, VIEWER, SCOPED] });
timings.server_listening_ms = server.listenMs;
const { base } = server;
let browser;
let watch = { step: 'seed' };

// Data rows of an Element Plus table (not the rows of a table inside an expanded row).
const rows = (page, test) => page.locator(`[data-test=${test}] tr.el-table__row:not(td.el-table__expanded-cell tr)`);
const count = (page, test) => rows(page, test).count();
async function rowCount(page, test, expected, what = test) {
  await waitFor(`${what}: ${expected} rows`, async () => (await count(page, test)) === expected, DATA_MS)
    .catch(async (e) => { throw new Error(`${e.message} (shown: ${await count(page, test)})`); });
}
// Until the page and the API agree (the API read each time: timers may add to it meanwhile).
async function agrees(what, fromApi, fromPage) {
  let last;
  await waitFor(what, async () => {
    last = [await fromApi(), await fromPage()];
    return JSON.stringify(last[0]) === JSON.stringify(last[1]);
  }, DATA_MS).catch(() => { throw new Error(`${what}: the API says ${JSON.stringify(last?.[0])}, the page ${JSON.stringify(last?.[1])}`); });
}
const texts = async (locator) => (await locator.allInnerTexts()).map((s) => s.trim());
// The spans moderation quoted, as the page should mark them: every occurrence, overlaps merged.
function markedSpans(text, quotes) {
  const ranges = [];
  for (const q of quotes ?? []) for (let at = text.indexOf(q); q && at >= 0; at = text.indexOf(q, at + 1)) ranges.push([at, at + q.length]);
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]); else merged.push([...r]);
  }
  return merged.map(([a, b]) => text.slice(a, b));
}
async function confirmBox(page) {
  const button = page.locator('.el-message-box .qz-confirm');
  await button.waitFor({ timeout: 5000 });
  await button.click();
  await page.locator('.el-message-box').waitFor({ state: 'hidden', timeout: 5000 });
}
async function openMenu(page, name, path) {
  await page.locator(`[data-test=menu-${name}]`).click();
  await page.waitForURL((u) => u.pathname === path);
}

try {
  // --- data, through the API ---------------------------------------------------------------------
  const preset = fs.readFileSync(new URL('../../playbooks/learning-camp.toml', import.meta.url), 'utf8');
  const applied = await server.api('PUT', '/api/v1/communities/camp/playbook', preset, 'application/toml');
  assertEqual(applied.status, 200, `applying the learning-camp preset (${JSON.stringify(applied.body)})`);
  const say = (member, name, text) => server.post('/api/v1/sandbox/groups/camp-1/messages', { member, name, text });
  await say('spam1', '广告哥', '加我微信 abc12345 低价代购 http://spam.example.com 快来');
  await say('spam2', XSS, `<b>看这里</b> ${XSS} 加微信 http://bad.example.net/x`);
  await say('spam1', '广告哥', '申诉'); // an appeal: an operator task
  await server.post('/api/v1/sandbox/direct', { member: 'asker', name: '想报名的人', text: '报名', community: 'camp' }); // a keyword ask: a task
  await server.post('/api/v1/invites?community=camp', { group: 'sandbox:camp-1', channel: '海报', code: 'poster-a', operator: 'seed' });
  await server.post('/api/v1/sandbox/groups/camp-1/join', { member: 'joiner1', name: '新朋友', code: 'poster-a' });
  await server.post('/api/v1/sandbox/groups/camp-1/join', { member: 'joiner2', name: '扫活码的人', code: 'camp' });
  const sent = await server.post('/api/v1/broadcasts?community=camp', { text: { zh: '今晚 8 点直播，记得来', en: 'Live at 8 tonight' }, groups: ['sandbox:camp-1'], operator: 'seed' });
  const later = await server.post('/api/v1/broadcasts?community=camp', {
    text: { zh: '明天早上的提醒' }, groups: ['sandbox:camp-1'], at: new Date(Date.now() + 2 * 86400e3).toISOString(), operator: 'seed' });
  await waitFor('the broadcast to go out', async () => (await server.get(`/api/v1/broadcasts/${sent.id}?community=camp`)).status === 'sent');

  browser = await timed('browser_launch_ms', () => launchBrowser());
  watch = await watchedPage(browser, { problems });
  const { page } = watch;

  watch.step = 'sign in';
  await page.goto(`${base}/members`);
  await page.waitForURL(/\/sign-in/);
  await signIn(page, OWNER.name, OWNER.password);
  await page.waitForURL(`${base}/members`);

  // --- members ---------------------------------------------------------------------------------
  watch.step = 'members';
  const firstPage = await server.get('/api/v1/members?limit=50');
  await timed('members_ms', () => rowCount(page, 'members-table', firstPage.members.length));
  assertEqual((await texts(rows(page, 'members-table').locator('[data-test=member-name]'))).join('|'),
    firstPage.members.map((m) => m.display_name || '（无昵称）').join('|'), 'the first page of members');
  await shot(page, 'p01-members');

  watch.step = 'members: load more';
  const secondPage = await server.get(`/api/v1/members?limit=50&cursor=${firstPage.next_cursor}`);
  await timed('members_load_more_ms', async () => {
    await page.locator('[data-test=load-more-button]').click();
    await rowCount(page, 'members-table', firstPage.members.length + secondPage.members.length);
  });

  watch.step = 'members: search';
  const q = '王';
  const found = await server.get(`/api/v1/members?limit=50&q=${encodeURIComponent(q)}`);
  assert(found.members.length > 0, `the demo has members named with ${q}`);
  await timed('members_search_ms', async () => {
    await page.locator('input[data-test=members-search]').fill(q);
    await rowCount(page, 'members-table', found.members.length, 'the search');
  });
  assertEqual(new URL(page.url()).searchParams.get('q'), q, 'the search in the URL');

  watch.step = 'member';
  const who = found.members[0];
  const profile = await server.get(`/api/v1/members/${who.id}`);
  const events = await server.get(`/api/v1/members/${who.id}/events?limit=30`);
  await timed('member_ms', async () => {
    await rows(page, 'members-table').first().locator('[data-test=member-link]').click();
    await page.waitForURL(`${base}/members/${who.id}`);
    await page.locator('[data-test=member-display-name]').waitFor();
    await rowCount(page, 'member-memberships', profile.memberships.length);
    await waitFor('the timeline', async () => (await page.locator('[data-test=member-event]').count()) === events.events.length, DATA_MS);
  });
  assertEqual((await page.locator('[data-test=member-display-name]').innerText()).trim(), profile.display_name, 'the member\'s name');
  assertEqual(await count(page, 'member-identities'), profile.identities.length, 'identities');
  assertEqual(await page.locator('[data-test=member-event]').first().getAttribute('data-seq'), String(events.events[0].seq), 'the newest event');
  assertEqual((await page.locator('[data-test=counter-messages]').innerText()).replace(/\D/g, ''), String(profile.counters.messages), 'messages counted');
  await shot(page, 'p02-member');
  if (events.next_before !== null) {
    const older = await server.get(`/api/v1/members/${who.id}/events?limit=30&before=${events.next_before}`);
    await page.locator('[data-test=load-more-button]').click();
    await waitFor('older events', async () =>
      (await page.locator('[data-test=member-event]').count()) === events.events.length + older.events.length, DATA_MS);
  }

  watch.step = 'a group\'s members';
  // Every group (the demo has fewer than 1000), and the page the console opens on: the 50
  // largest (as many as the demo has), largest first.
  const groups = (await server.get('/api/v1/groups?limit=1000')).groups;
  const largest = (await server.get('/api/v1/groups?limit=50&sort=member_count&order=desc')).groups;
  await openMenu(page, 'groups', '/groups');
  await rowCount(page, 'groups-table', largest.length);
  const firstGroupRow = rows(page, 'groups-table').first();
  const firstGroupName = (await firstGroupRow.locator('[data-test=group-name]').innerText()).trim();
  assertEqual(firstGroupName, largest[0].name, 'the largest group first');
  const group = largest[0];
  const groupMembers = await server.get(`/api/v1/members?limit=50&group=${group.id}`);
  await firstGroupRow.locator('[data-test=group-members-link]').click();
  await page.waitForURL((u) => u.pathname === '/members' && u.searchParams.get('group') === String(group.id));
  await rowCount(page, 'members-table', groupMembers.members.length, `the members of ${group.name}`);

  // --- a group's page ------------------------------------------------------------------------------
  watch.step = 'a group\'s page';
  const groupInfo = await server.get(`/api/v1/groups/${group.id}`);
  await openMenu(page, 'groups', '/groups');
  await rowCount(page, 'groups-table', largest.length);
  await timed('group_ms', async () => {
    await rows(page, 'groups-table').first().locator('[data-test=group-name]').click();
    await page.waitForURL(`${base}/groups/${group.id}`);
    await page.locator('[data-test=group-display-name]').waitFor({ timeout: DATA_MS });
    await rowCount(page, 'group-members-table', groupMembers.members.length, `the members tab of ${group.name}`);
  });
  assertEqual((await page.locator('[data-test=group-display-name]').innerText()).trim(), groupInfo.name, 'the group\'s name');
  for (const key of ['members', 'joins', 'leaves', 'messages']) {
    const shown = page.locator(`[data-test=group-counter-${key}]`);
    const want = key === 'members' ? groupInfo.member_count : groupInfo[key];
    assertEqual(await shown.getAttribute('data-value'), String(want), `the group's ${key}`);
    assertEqual((await shown.innerText()).replace(/\D/g, ''), String(want), `the group's ${key} shown`);
  }
  assertEqual((await page.locator('[data-test=group-members-capacity]').innerText()).replace(/[\s,]/g, ''),
    `${groupInfo.member_count}/${groupInfo.capacity > 0 ? groupInfo.capacity : '不限'}`, 'members against capacity');
  assertEqual((await texts(rows(page, 'group-members-table').locator('[data-test=member-name]'))).join('|'),
    groupMembers.members.map((m) => m.display_name || '（无昵称）').join('|'), 'the members tab');
  assertEqual(await page.locator('[data-test=group-link-members]').getAttribute('href'), `/members?group=${group.id}`, 'the link to its members');
  await page.locator('[data-test=activity-chart] canvas').first().waitFor({ timeout: DATA_MS });
  await page.waitForTimeout(600); // the chart's entry animation
  await shot(page, 'p02-group');

  watch.step = 'a group\'s page: members by role';
  const owners = await server.get(`/api/v1/members?limit=50&group=${group.id}&role=owner`);
  assert(owners.members.length > 0 && owners.members.length < groupMembers.members.length, `the demo group has an owner among others (${owners.members.length})`);
  await page.locator('[data-test=group-role]').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^群主$/ }).click();
  await page.waitForURL((u) => u.searchParams.get('role') === 'owner');
  await rowCount(page, 'group-members-table', owners.members.length, 'the group\'s owners');
  assertEqual((await texts(rows(page, 'group-members-table').locator('[data-test=member-name]'))).join('|'),
    owners.members.map((m) => m.display_name).join('|'), 'the group\'s owners');

  watch.step = 'a group\'s page: conversation';
  const talk = await server.get(`/api/v1/groups/${group.id}/events?limit=50`);
  const talkMessages = talk.events.filter((e) => e.type === 'message');
  assert(talkMessages.length > 0, `messages among the group's latest events (${talk.events.length})`);
  const lines = page.locator('[data-test=group-message], [data-test=group-event]');
  await timed('group_conversation_ms', async () => {
    await page.getByRole('tab', { name: '最近对话' }).click();
    await page.waitForURL((u) => u.searchParams.get('tab') === 'conversation');
    await waitFor('the conversation', async () => (await lines.count()) === talk.events.length, DATA_MS);
  });
  assertEqual(await lines.first().getAttribute('data-seq'), String(talk.events[0].seq), 'the newest event first');
  const firstLine = page.locator('[data-test=group-message]').first();
  const firstSeq = await firstLine.getAttribute('data-seq');
  const said = talk.events.find((e) => String(e.seq) === firstSeq);
  assertEqual(said?.type, 'message', 'a message line is a message of the API');
  assertEqual(await firstLine.locator('[data-test=group-message-text]').innerText(), said.text ?? '', 'the message\'s text');
  assertEqual((await firstLine.locator('[data-test=group-message-name]').innerText()).trim(), said.name || said.member, 'who said it');
  assertEqual(await firstLine.locator('[data-test=group-message-name] a').getAttribute('href'), `/members/${said.member_id}`, 'who said it, linked to their page');
  assertEqual(await page.locator('[data-test=group-message]').count(), talkMessages.length, 'every message as a chat line');
  await shot(page, 'p02-group-conversation');
  if (talk.next_before !== null) {
    const older = await server.get(`/api/v1/groups/${group.id}/events?limit=50&before=${talk.next_before}`);
    await page.locator('[data-test=group-conversation] [data-test=load-more-button]').click();
    await waitFor('older events', async () => (await lines.count()) === talk.events.length + older.events.length, DATA_MS);
  }

  watch.step = 'a group\'s page: actions';
  const groupActions = await server.get(`/api/v1/actions?limit=50&group=${group.id}`);
  await page.getByRole('tab', { name: '机器人动作' }).click();
  await waitFor('the group\'s actions', async () => (await count(page, 'group-actions-table')) === groupActions.actions.length
    && (groupActions.actions.length > 0 || (await page.locator('[data-test=group-actions-table]').innerText()).includes('机器人还没有')), DATA_MS);

  watch.step = 'a group that does not exist';
  watch.expect(404, /\/api\/v1\/groups\/999999999$/);
  await page.goto(`${base}/groups/999999999`);
  await page.locator('[data-test=group-not-found]').waitFor({ timeout: DATA_MS });
  assert((await page.locator('[data-test=group-not-found]').innerText()).includes('999999999'), 'the missing group\'s id said');
  watch.clearExpected();

  // --- members: role, tag, sort ------------------------------------------------------------------
  watch.step = 'members: by role';
  const admins = await server.get('/api/v1/members?limit=50&role=admin');
  assert(admins.members.length > 0, 'the demo has admins');
  const memberNames = async () => (await texts(rows(page, 'members-table').locator('[data-test=member-name]'))).join('|');
  const namesOf = (list) => list.members.map((m) => m.display_name || '（无昵称）').join('|');
  await openMenu(page, 'members', '/members');
  await rowCount(page, 'members-table', firstPage.members.length);
  await timed('members_role_ms', async () => {
    await page.locator('[data-test=members-role]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: /^管理员$/ }).click();
    await page.waitForURL((u) => u.searchParams.get('role') === 'admin');
    await agrees('the admins', () => namesOf(admins), memberNames);
  });

  watch.step = 'members: by tag';
  const tagList = (await server.get('/api/v1/tags')).tags;
  const tagged = tagList.find((x) => x.tag === '意向客户') ?? tagList.find((x) => x.members > 0);
  assert(tagged, `the demo's tags (${JSON.stringify(tagList)})`);
  const withTag = await server.get(`/api/v1/members?limit=50&tag=${encodeURIComponent(tagged.tag)}`);
  assert(withTag.members.length > 0, `members tagged ${tagged.tag}`);
  await page.locator('[data-test=members-role]').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^全部群内角色$/ }).click();
  await page.waitForURL((u) => !u.searchParams.has('role'));
  await timed('members_tag_ms', async () => {
    await page.locator('[data-test=members-tag]').click();
    const option = page.locator('.el-select-dropdown__item:visible', { has: page.getByText(tagged.tag, { exact: true }) });
    assertEqual((await option.locator('.tag-count').innerText()).replace(/\D/g, ''), String(tagged.members), `how many have ${tagged.tag}`);
    await option.click();
    await page.waitForURL((u) => u.searchParams.get('tag') === tagged.tag);
    await agrees(`the members tagged ${tagged.tag}`, () => namesOf(withTag), memberNames);
  });
  await shot(page, 'p01-members-tag');

  watch.step = 'members: sorted by messages';
  const chatty = await server.get('/api/v1/members?limit=50&sort=messages&order=desc');
  await page.locator('[data-test=members-tag]').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^全部标签$/ }).click();
  await page.waitForURL((u) => !u.searchParams.has('tag'));
  await timed('members_sort_ms', async () => {
    await page.locator('[data-test=members-table] th', { hasText: '消息' }).locator('.sort-caret.descending').click();
    await page.waitForURL((u) => u.searchParams.get('sort') === 'messages' && u.searchParams.get('order') === 'desc');
    await agrees('the members by messages, most first', () => namesOf(chatty), memberNames);
  });
  assertEqual((await rows(page, 'members-table').first().locator('[data-test=member-messages]').innerText()).replace(/\D/g, ''),
    String(chatty.members[0].counters.messages), 'the most messages first');
  await shot(page, 'p01-members-sorted');

  // The pager and the sort the console asks the server for, with pages of two: the server's
  // answer ({"groups","next_cursor","total"} for limit/cursor/sort/order) is played in the browser
  // from the real groups, since the demo's groups fill one page of 50.
  watch.step = 'groups paged by the server (its answer played in the browser)';
  const asked = [];
  await page.route((u) => u.pathname === '/api/v1/groups' && u.searchParams.get('limit') === '50', (route) => {
    const u = new URL(route.request().url());
    asked.push(Object.fromEntries(u.searchParams));
    const sorted = [...groups].sort((a, b) => (u.searchParams.get('order') === 'asc' ? 1 : -1) * (a.member_count - b.member_count));
    const at = Number(u.searchParams.get('cursor') ?? 0);
    const next = at + 2 < sorted.length ? String(at + 2) : null;
    return route.fulfill({ json: { groups: sorted.slice(at, at + 2), next_cursor: next, total: sorted.length } });
  });
  await openMenu(page, 'groups', '/groups');
  await rowCount(page, 'groups-table', 2, 'the first page of groups');
  const pager = page.locator('[data-test=groups-pager]');
  assertEqual((await pager.innerText()).includes(`第 1 / ${Math.ceil(groups.length / 2)} 页`), true, 'the pager');
  await pager.getByRole('button', { name: '下一页' }).click();
  await waitFor('the second page', () => asked.at(-1)?.cursor === '2', 5000);
  await rowCount(page, 'groups-table', 2, 'the second page of groups');
  assertEqual(asked.at(-1).sort, 'member_count', 'sorted by members');
  assertEqual(asked.at(-1).order, 'desc', 'largest first');
  await shot(page, 'p02-groups-server-paged');
  await page.unrouteAll({ behavior: 'wait' });

  // --- tasks -----------------------------------------------------------------------------------
  watch.step = 'tasks';
  const tasks = (await server.get('/api/v1/tasks?open=true&limit=50')).tasks;
  assert(tasks.length >= 2, `the seeded tasks (${tasks.length})`);
  await timed('tasks_ms', async () => {
    await openMenu(page, 'tasks', '/tasks');
    await rowCount(page, 'tasks-table', tasks.length);
  });
  assertEqual((await texts(page.locator('[data-test=task-reason]'))).join('|'), tasks.map((x) => x.reason).join('|'), 'the tasks\' reasons');
  const appeal = tasks.find((x) => x.rule === 'moderation.appeal');
  const appealRow = rows(page, 'tasks-table').filter({ hasText: appeal.reason });
  assertEqual(await appealRow.locator('[data-test=member-link]').getAttribute('href'), `/members/${appeal.member_id}`, 'the appeal\'s member link');
  const campGroup = groups.find((g) => g.id === appeal.group_id);
  assertEqual((await appealRow.locator('[data-test=group-link]').innerText()).includes(campGroup.name), true, 'the appeal\'s group link');
  assertEqual(await appealRow.locator('[data-test=group-link]').getAttribute('href'), `/groups/${campGroup.id}`, 'the group link leads to its page');
  await shot(page, 'p03-tasks');

  watch.step = 'tasks: close';
  await appealRow.locator('[data-test=task-close]').click();
  await page.locator('textarea[data-test=task-note]').fill('已回复申诉');
  await page.locator('[data-test=task-dialog-submit]').click();
  await rowCount(page, 'tasks-table', tasks.length - 1, 'the open tasks after closing one');
  const all = (await server.get('/api/v1/tasks?open=false&limit=1000')).tasks;
  assertEqual(all.find((x) => x.id === appeal.id)?.open, false, 'the closed task');
  assertEqual(all.find((x) => x.id === appeal.id)?.note, '已回复申诉', 'the closing note');
  watch.step = 'tasks: assign';
  const other = rows(page, 'tasks-table').first();
  await other.locator('[data-test=task-assign]').click();
  await page.locator('[data-test=task-dialog] .el-select').click();
  await page.locator('.el-select-dropdown__item', { hasText: new RegExp(`^${OWNER.name}$`) }).click();
  await page.locator('[data-test=task-dialog-submit]').click();
  await waitFor('the assignee shown', async () => (await other.locator('[data-test=task-assignee]').innerText().catch(() => '')).trim() === OWNER.name, DATA_MS);
  const assigned = (await server.get('/api/v1/tasks?open=true&limit=50')).tasks[0];
  assertEqual(assigned.assignee, OWNER.name, 'the task\'s assignee');
  await shot(page, 'p03-tasks-closed-assigned');

  // --- moderation ------------------------------------------------------------------------------
  watch.step = 'moderation';
  const decisions = (await server.get('/api/v1/moderation/decisions?community=camp&limit=50')).decisions;
  assert(decisions.length >= 2, `the seeded decisions (${decisions.length})`);
  await timed('moderation_ms', async () => {
    await openMenu(page, 'moderation', '/moderation');
    await rowCount(page, 'moderation-table', decisions.length);
  });
  for (const [i, d] of decisions.entries()) {
    const row = rows(page, 'moderation-table').nth(i);
    assertEqual((await row.locator('[data-test=highlighted-text]').innerText()).trim(), d.text.trim(), `decision ${d.id}'s text`);
    assertEqual((await texts(row.locator('[data-test=quote]'))).join('|'), markedSpans(d.text, d.quotes).map((s) => s.trim()).join('|'), `decision ${d.id}'s marked spans`);
    assertEqual((await row.locator('[data-test=decision-strikes]').innerText()).trim(), String(d.strikes), `decision ${d.id}'s strikes`);
    assertEqual((await row.locator('[data-test=decision-score]').innerText()).trim(), Number(d.score).toFixed(2), `decision ${d.id}'s score`);
  }
  assertEqual(await page.evaluate(() => document.querySelectorAll('img[src="x"], [data-test=moderation-table] b').length), 0, 'elements made from a member\'s text');
  assert(await page.getByText(XSS, { exact: true }).count() > 0, 'the HTML-like name shown as text');
  await shot(page, 'p04-moderation');

  watch.step = 'moderation: undo';
  const undone = decisions.find((d) => d.status === 'applied');
  const undoRow = rows(page, 'moderation-table').nth(decisions.indexOf(undone));
  await undoRow.locator('[data-test=decision-undo]').click();
  await confirmBox(page);
  await waitFor('the undone status', async () => (await undoRow.locator('[data-test=decision-status]').innerText()).trim() === '已撤销', DATA_MS);
  const after = (await server.get('/api/v1/moderation/decisions?community=camp&limit=50')).decisions.find((d) => d.id === undone.id);
  assertEqual(after.status, 'undone', 'the decision after the undo');
  assertEqual(after.operator, OWNER.name, 'who undid it');

  watch.step = 'English on a new page';
  await page.locator('[data-test=locale-switch]').click();
  await page.getByRole('heading', { name: 'Moderation' }).waitFor();
  await page.locator('[data-test=moderation-table] th', { hasText: 'Rule' }).first().waitFor();
  assertEqual((await undoRow.locator('[data-test=decision-status]').innerText()).trim(), 'undone', 'the status in English');
  await page.locator('[data-test=menu-tasks]', { hasText: 'Tasks' }).waitFor();
  await shot(page, 'p05-moderation-english');
  await page.locator('[data-test=locale-switch]').click();
  await page.getByRole('heading', { name: '群管理' }).waitFor();

  // --- a sandbox group's page, from a group link ---------------------------------------------------
  watch.step = 'a sandbox group\'s page';
  const campInfo = await server.get(`/api/v1/groups/${campGroup.id}`);
  await rows(page, 'moderation-table').first().locator('[data-test=group-link]').click();
  await page.waitForURL(`${base}/groups/${campGroup.id}`);
  await page.locator('[data-test=group-display-name]').waitFor({ timeout: DATA_MS });
  assertEqual(await page.locator('[data-test=group-counter-members]').getAttribute('data-value'), String(campInfo.member_count), 'camp-1\'s members');
  assertEqual(await page.locator('[data-test=group-link-sandbox]').getAttribute('href'), '/sandbox?group=camp-1', 'open in the sandbox');
  await page.getByRole('tab', { name: '最近对话' }).click();
  await agrees('camp-1\'s conversation', async () => (await server.get(`/api/v1/groups/${campGroup.id}/events?limit=50`)).events.length, () => lines.count());
  const htmlLine = page.locator('[data-test=group-message]', { has: page.locator('[data-test=group-message-name]', { hasText: XSS }) }).first();
  assertEqual(await htmlLine.locator('[data-test=group-message-text]').innerText(), `<b>看这里</b> ${XSS} 加微信 http://bad.example.net/x`, 'a message holding HTML, as text');
  assertEqual(await page.evaluate(() => document.querySelectorAll('img[src="x"], [data-test=group-conversation] b').length), 0, 'elements made from a member\'s text');
  await shot(page, 'p05-group-sandbox');

  watch.step = 'a group\'s moderation decisions';
  const groupDecisions = (await server.get('/api/v1/moderation/decisions?community=camp&group=sandbox:camp-1&limit=50')).decisions;
  assert(groupDecisions.length > 0, 'decisions in camp-1');
  await page.locator('[data-test=group-link-moderation]').click();
  await page.waitForURL((u) => u.pathname === '/moderation' && u.searchParams.get('group') === 'sandbox:camp-1' && u.searchParams.get('community') === 'camp');
  await rowCount(page, 'moderation-table', groupDecisions.length, 'camp-1\'s decisions');

  // --- the outbox ------------------------------------------------------------------------------
  watch.step = 'actions';
  await timed('actions_ms', async () => {
    await openMenu(page, 'actions', '/actions');
    await agrees('the outbox', async () => (await server.get('/api/v1/actions?limit=50')).actions.length, () => count(page, 'actions-table'));
  });
  assert(await count(page, 'actions-table') > 0, 'actions shown');
  await shot(page, 'p06-actions');
  await page.locator('[data-test=actions-status] label', { hasText: '已完成' }).click();
  await page.waitForURL((u) => u.searchParams.get('status') === 'done');
  await agrees('the done actions', async () => (await server.get('/api/v1/actions?status=done&limit=50')).actions.length,
    async () => (await page.locator('[data-test=action-status][data-status=done]').count()) === (await count(page, 'actions-table')) ? count(page, 'actions-table') : -1);

  // --- invites ---------------------------------------------------------------------------------
  watch.step = 'invites';
  const codes = (await server.get('/api/v1/communities/camp/state/invites/codes?limit=200')).rows;
  await timed('invites_ms', async () => {
    await openMenu(page, 'invites', '/invites');
    await rowCount(page, 'invites-table', codes.length);
  });
  const poster = codes.find((c) => c.code === 'poster-a');
  const posterRow = rows(page, 'invites-table').filter({ has: page.locator('[data-test=invite-row-code]', { hasText: /^poster-a$/ }) });
  assertEqual((await posterRow.locator('[data-test=invite-row-joins]').innerText()).trim(), String(poster.joins), 'poster-a\'s joins');
  assert(codes.some((c) => c.code === 'camp' && c.kind === 'live'), 'the live code, used');
  await shot(page, 'p07-invites');
  const invite = await server.get('/api/v1/invites/poster-a?community=camp');
  await timed('invite_detail_ms', async () => {
    await posterRow.locator('[data-test=invite-open]').click();
    await page.locator('[data-test=invite-url]').waitFor();
    await waitFor('the QR picture', () => page.locator('[data-test=invite-qr]').evaluate((img) => img.complete && img.naturalWidth > 0), DATA_MS);
  });
  assertEqual((await page.locator('[data-test=invite-url]').innerText()).trim(), invite.url, 'the landing URL');
  await rowCount(page, 'invite-joins-table', invite.join_list.length, 'the code\'s joins');
  await shot(page, 'p08-invite-detail');
  await page.keyboard.press('Escape');

  // --- broadcasts ------------------------------------------------------------------------------
  watch.step = 'broadcasts';
  await timed('broadcasts_ms', async () => {
    await openMenu(page, 'broadcasts', '/broadcasts');
    await rowCount(page, 'broadcasts-table', 2);
  });
  const sentRow = rows(page, 'broadcasts-table').filter({ hasText: sent.id });
  const laterRow = rows(page, 'broadcasts-table').filter({ hasText: later.id });
  assertEqual(await sentRow.locator('[data-test=broadcast-status]').getAttribute('data-status'), 'sent', 'the sent broadcast');
  assertEqual(await laterRow.locator('[data-test=broadcast-status]').getAttribute('data-status'), 'scheduled', 'the scheduled broadcast');
  await agrees('the sent broadcast\'s delivery', async () => `已完成 ${(await server.get(`/api/v1/broadcasts/${sent.id}?community=camp`)).delivery.done}`,
    async () => (await sentRow.locator('[data-test=broadcast-delivery-summary]').innerText().catch(() => '')).replace(/\s+/g, ' ').trim());
  const delivery = await server.get(`/api/v1/broadcasts/${sent.id}?community=camp`);
  await sentRow.locator('.el-table__expand-icon').click();
  await waitFor('the deliveries', async () => (await page.locator('[data-test=broadcast-deliveries] tr.el-table__row').count()) === delivery.deliveries.length, DATA_MS);
  await shot(page, 'p09-broadcasts');
  await laterRow.locator('[data-test=broadcast-cancel]').click();
  await confirmBox(page);
  await waitFor('the cancelled status', async () => (await laterRow.locator('[data-test=broadcast-status]').getAttribute('data-status')) === 'cancelled', DATA_MS);
  assertEqual((await server.get(`/api/v1/broadcasts/${later.id}?community=camp`)).status, 'cancelled', 'the broadcast after cancelling');

  // --- playbooks -------------------------------------------------------------------------------
  watch.step = 'playbooks';
  const stored = (await server.api('GET', '/api/v1/communities/camp/playbook')).body;
  const editor = page.locator('textarea[data-test=playbook-text]');
  await timed('playbooks_ms', async () => {
    await openMenu(page, 'playbooks', '/playbooks');
    await waitFor('the stored playbook', async () => (await editor.inputValue()) === stored, DATA_MS);
  });
  assertEqual(await page.locator('.num').count(), stored.split('\n').length, 'line numbers');
  await shot(page, 'p10-playbooks');

  watch.step = 'playbooks: a refused edit';
  const broken = stored.replace('ladder = ["warn"', 'ladder = ["wrn"');
  const refusal = await server.api('PUT', '/api/v1/communities/camp/playbook', broken, 'application/toml');
  assertEqual(refusal.status, 400, 'the broken playbook refused');
  const badLine = Number(/playbook:(\d+):/.exec(refusal.body.error.message)[1]);
  watch.expect(400, /\/api\/v1\/communities\/camp\/playbook$/);
  await editor.fill(broken);
  await page.locator('[data-test=playbook-dirty]').waitFor();
  await page.locator('[data-test=playbook-apply]').click();
  const marker = page.locator(`[data-test=playbook-line-error][data-line="${badLine}"]`);
  await marker.waitFor({ timeout: DATA_MS });
  assert((await marker.innerText()).includes('moderation.ladder'), 'the error beside its line names the key');
  assertEqual(await page.locator(`.num.bad[data-line="${badLine}"]`).count(), 1, 'the line number marked');
  const markerBox = await marker.boundingBox();
  const lineBox = await page.locator(`.num[data-line="${badLine}"]`).boundingBox();
  assert(markerBox && lineBox && Math.abs(markerBox.y - lineBox.y) < 4, `the message is beside line ${badLine}`);
  await shot(page, 'p11-playbooks-error');
  watch.clearExpected();
  assertEqual((await server.api('GET', '/api/v1/communities/camp/playbook')).body, stored, 'the stored playbook after a refusal');

  watch.step = 'playbooks: a preset';
  await page.locator('[data-test=playbook-preset]').click();
  await page.locator('.el-select-dropdown__item', { hasText: 'interest.toml' }).click();
  await confirmBox(page); // the refused edit is discarded
  await page.locator('[data-test=playbook-notice]').waitFor();
  const interest = await editor.inputValue();
  assert(/^\s*slug = "camp"\s*$/m.test(interest) && interest.includes('# Preset: an interest group'), 'the interest preset, for camp');
  await page.getByRole('button', { name: '撤销修改' }).click();
  await waitFor('the stored playbook again', async () => (await editor.inputValue()) === stored, 5000);

  // --- platforms -------------------------------------------------------------------------------
  watch.step = 'platforms';
  const platforms = (await server.get('/api/v1/platforms')).platforms;
  await timed('platforms_ms', async () => {
    await openMenu(page, 'platforms', '/platforms');
    await waitFor('the platform cards', async () => (await page.locator('[data-test=platform-card]').count()) === platforms.length, DATA_MS);
  });
  for (const p of platforms) {
    const card = page.locator(`[data-test=platform-card][data-platform="${p.platform}"]`);
    assertEqual(await card.locator('[data-test=platform-capability]').count(), p.capabilities.length, `${p.platform}'s capabilities`);
    assertEqual(await card.locator('[data-test=platform-connection-state]').count(), p.connections.length, `${p.platform}'s connections`);
  }
  await shot(page, 'p12-platforms');

  // --- accounts --------------------------------------------------------------------------------
  watch.step = 'accounts';
  const accounts = (await server.get('/api/v1/accounts')).accounts;
  await timed('accounts_ms', async () => {
    await openMenu(page, 'accounts', '/accounts');
    await rowCount(page, 'accounts-table', accounts.length);
  });
  assertEqual((await texts(page.locator('[data-test=account-name]'))).sort().join('|'), accounts.map((a) => a.name).sort().join('|'), 'the accounts');
  await shot(page, 'p13-accounts');

  watch.step = 'accounts: a role per community';
  // The owner makes SCOPED (a viewer) an operator inside camp, in the account's dialog.
  const camp = (await server.get('/api/v1/communities')).communities.find((c) => c.slug === 'camp');
  const campLabel = camp.name && camp.name !== 'camp' ? `${camp.name} (camp)` : 'camp';
  const scopedRow = rows(page, 'accounts-table').filter({ has: page.locator('[data-test=account-name]', { hasText: new RegExp(`^${SCOPED.name}$`) }) });
  await scopedRow.locator('[data-test=account-communities-edit]').click();
  const rolesDialog = page.locator('[data-test=community-roles-dialog]');
  await rolesDialog.locator('[data-test=community-roles-none]').waitFor();
  await rolesDialog.locator('[data-test=community-role-add]').click();
  await rolesDialog.locator('[data-test=community-role-community]').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: campLabel }).first().click();
  await rolesDialog.locator('[data-test=community-role-role]').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^运营$/ }).click();
  await shot(page, 'p13-accounts-community-roles');
  await rolesDialog.locator('[data-test=community-roles-save]').click();
  await rolesDialog.waitFor({ state: 'hidden', timeout: DATA_MS });
  await scopedRow.locator('[data-test=account-community][data-slug=camp][data-role=operator]').waitFor({ timeout: DATA_MS });
  const scopedAccount = (await server.get('/api/v1/accounts')).accounts.find((a) => a.name === SCOPED.name);
  assertEqual(JSON.stringify(scopedAccount.communities), JSON.stringify({ camp: 'operator' }), 'the roles per community stored');
  assertEqual(scopedAccount.role, 'viewer', 'its own role unchanged');

  watch.step = 'accounts: tokens';
  const tokens = await server.get('/api/v1/tokens');
  assert(tokens.tokens.length >= 1, `the tokens (${tokens.tokens.length})`);
  await page.getByRole('tab', { name: 'API 令牌' }).click();
  await rowCount(page, 'tokens-table', tokens.tokens.length);
  await shot(page, 'p14-tokens');

  // --- a viewer --------------------------------------------------------------------------------
  watch.step = 'viewer';
  const viewer = await watchedPage(browser, { problems });
  watch = viewer;
  const vpage = viewer.page;
  await vpage.goto(`${base}/moderation`);
  await vpage.waitForURL(/\/sign-in/);
  await signIn(vpage, VIEWER.name, VIEWER.password);
  await vpage.waitForURL((u) => u.pathname === '/moderation');
  await rowCount(vpage, 'moderation-table', decisions.length);
  await vpage.locator('[data-test=moderation-viewer-note]').waitFor();
  const applied2 = (await server.get('/api/v1/moderation/decisions?community=camp&limit=50')).decisions.find((d) => d.status === 'applied');
  assert(applied2, 'a decision left to undo');
  const decisionRow = (p, id) => rows(p, 'moderation-table').filter({ has: p.locator('td:first-child', { hasText: new RegExp(`^${id}$`) }) });
  const vrow = decisionRow(vpage, applied2.id);
  assert(await vrow.locator('[data-test=decision-undo]').isDisabled(), 'the viewer\'s undo is disabled');
  await shot(vpage, 'p15-moderation-viewer');

  // --- a role per community: an operator in camp only ------------------------------------------
  watch.step = 'a role per community';
  // fans (a demo community) gets a moderated sandbox group, and a decision there.
  const fansBook = '[community]\nslug = "fans"\nname = "粉丝团"\n\n[[groups]]\nplatform = "sandbox"\nid = "fans-1"\nname = "粉丝1群"\n\n'
    + '[moderation]\nladder = ["warn"]\n';
  const fansApplied = await server.api('PUT', '/api/v1/communities/fans/playbook', fansBook, 'application/toml');
  assertEqual(fansApplied.status, 200, `a playbook for fans (${JSON.stringify(fansApplied.body)})`);
  await server.post('/api/v1/sandbox/groups/fans-1/messages', { member: 'spam9', name: '广告哥', text: '加我微信 abc12345 低价代购 http://spam.example.com 快来' });
  await waitFor('a decision in fans', async () => (await server.get('/api/v1/moderation/decisions?community=fans')).decisions.length > 0, DATA_MS);
  const scoped = await watchedPage(browser, { problems });
  watch = scoped;
  const spage = scoped.page;
  await spage.goto(`${base}/moderation?community=camp`);
  await spage.waitForURL(/\/sign-in/);
  await signIn(spage, SCOPED.name, SCOPED.password);
  await spage.waitForURL((u) => u.pathname === '/moderation');
  await rowCount(spage, 'moderation-table', decisions.length);
  assertEqual(await spage.locator('[data-test=moderation-viewer-note]').count(), 0, 'no note where the account is an operator');
  const srow = decisionRow(spage, applied2.id);
  await srow.locator('[data-test=decision-undo]').click();
  await confirmBox(spage);
  await waitFor('the undone status', async () => (await srow.locator('[data-test=decision-status]').innerText()).trim() === '已撤销', DATA_MS);
  const byScoped = (await server.get('/api/v1/moderation/decisions?community=camp&limit=50')).decisions.find((d) => d.id === applied2.id);
  assertEqual(`${byScoped.status} by ${byScoped.operator}`, `undone by ${SCOPED.name}`, 'the decision after the undo in camp');
  await shot(spage, 'p16-moderation-operator-in-camp');

  watch.step = 'a role per community: fans';
  await spage.goto(`${base}/moderation?community=fans`);
  await rowCount(spage, 'moderation-table', 1);
  await spage.locator('[data-test=moderation-viewer-note]').waitFor();
  assert(await rows(spage, 'moderation-table').first().locator('[data-test=decision-undo]').isDisabled(), 'the undo in fans is disabled');
  const fansBefore = (await server.get('/api/v1/sandbox/groups/fans-1/messages?limit=1000')).messages.length;
  scoped.expect(403, /\/api\/v1\/sandbox\/groups\/fans-1\/messages/);
  await spage.goto(`${base}/sandbox?group=fans-1`);
  await waitFor('the fans conversation', async () => (await spage.locator('[data-test=sandbox-entry]').count()) === fansBefore, DATA_MS);
  await spage.locator('input[data-test=sandbox-text]').fill('大家好');
  await spage.locator('[data-test=sandbox-send]').click();
  const sandboxRefused = spage.locator('[data-test=sandbox-page] [data-test=error]');
  await sandboxRefused.waitFor({ timeout: DATA_MS });
  const sandboxSaid = await sandboxRefused.innerText();
  assert(sandboxSaid.includes('没有权限') && sandboxSaid.includes("in the community 'fans'") && sandboxSaid.includes('operator'),
    `the refusal in fans said clearly: ${sandboxSaid}`);
  assertEqual((await server.get('/api/v1/sandbox/groups/fans-1/messages?limit=1000')).messages.length, fansBefore, 'nothing posted in fans');
  await shot(spage, 'p17-sandbox-refused-in-fans');
  scoped.clearExpected();

  if (problems.length) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
  writeTimings(shots, timings);
  console.log(`timings (ms): ${JSON.stringify(timings)}`);
  console.log(`screenshots: ${shots}`);
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
