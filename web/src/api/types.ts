// The shapes of the qunzhu API's answers the console reads (README.md, "HTTP API").

export type Role = 'viewer' | 'assistant' | 'operator' | 'admin' | 'owner';

// A role per community by the community's slug: inside that community it replaces the base role
// (higher or lower; never owner).
export type CommunityRoles = Record<string, Role>;

// GET/POST /api/v1/session: an account's session (a token has {token, role} instead). A server
// before roles per community sends no `communities`.
export interface SessionInfo {
  account?: string;
  token?: string;
  role: Role;
  communities?: CommunityRoles;
  csrf?: string;
  expires_at?: string;
}

export interface Stats {
  events: number;
  members: number;
  groups: number;
  communities: number;
  // The outbox's actions by status (absent from a server before the activity charts).
  outbox?: { pending: number; sending: number; done: number; failed: number; possibly_sent: number };
}

// GET /api/v1/activity/daily: one entry per day of the community's time zone, oldest first.
export interface DailyActivity {
  time_zone: string;
  days: { day: string; joins: number; leaves: number; messages: number }[];
}

// GET /api/v1/activity/groups: a series per group asked for, on `days`.
export interface GroupActivity {
  days: string[];
  groups: { group: number; joins: number[]; leaves: number[]; messages: number[] }[];
}

export interface Community {
  id: number;
  slug: string;
  name: string;
  time_zone: string;
  created_at: string | null;
}

export interface Group {
  id: number;
  community_id: number;
  platform: string;
  external_id: string;
  name: string;
  type: string;
  capacity: number;
  time_zone: string;
  first_seen: string | null;
  last_activity: string | null;
  member_count: number;
  joins: number;
  leaves: number;
  messages: number;
  bot_present: boolean;
  bot_left_at: string | null;
}

export interface OperatorTask {
  id: number;
  kind: string;
  reason: string;
  open: boolean;
  created_at: string | null;
}


export interface ConnectionHealth {
  name: string;
  state: string; // starting, connected, retrying, stopped
  last_event: string | null;
  events: number;
  errors: number;
  last_error: string;
}

export interface Platform {
  platform: string;
  capabilities: string[];
  dedupes_sends: boolean;
  rate_limits?: { per_second: number; per_chat_per_second: number; per_chat_per_minute: number };
  connections: ConnectionHealth[];
}

export interface Counters {
  messages: number;
  checkins: number;
  link_clicks: number;
  orders: number;
  order_amount: string;
  invited: number;
}

// GET /api/v1/members (each), /api/v1/members/{id} (with the lists).
export interface Member {
  id: number;
  community_id: number;
  display_name: string;
  first_seen: string | null;
  last_seen: string | null;
  referrer_id: number | null;
  channel: string;
  last_message: string | null;
  last_checkin: string | null;
  counters: Counters;
}

export interface Identity {
  community_id: number;
  platform: string;
  external_id: string;
  name: string;
}

export interface Membership {
  group_id: number;
  role: string;
  active: boolean;
  joined_at: string | null;
  left_at: string | null;
  left_reason: string | null;
  via_code: string;
  inviter_id: number | null;
  messages: number;
  last_message: string | null;
}

export interface MemberProfile extends Member {
  identities: Identity[];
  memberships: Membership[];
  names: { name: string; first_seen: string | null }[];
  tags: { tag: string; added_at: string | null }[];
}

// GET /api/v1/members/{id}/events and /api/v1/groups/{id}/events: the stored canonical events
// (docs/events.md) with their log position `seq` and the console's id of the member they are
// about (`member_id`, absent when none), newest first; `next_before` pages on.
export interface MemberEvent {
  seq: number;
  member_id?: number;
  id: string;
  type: string;
  time: string;
  platform: string;
  community?: string;
  group?: string;
  group_name?: string;
  member?: string;
  name?: string;
  kind?: string;
  text?: string;
  [key: string]: unknown;
}
export type GroupEvent = MemberEvent;
export interface EventPage { events: MemberEvent[]; next_before: number | null }

// A member's role inside a group (a membership's `role`; GET /api/v1/members?role=).
export const GROUP_ROLES = ['owner', 'admin', 'assistant', 'member'] as const;
export type GroupRole = (typeof GROUP_ROLES)[number];

// GET /api/v1/tags?community=: each tag in use and how many members have it, ascending by tag.
export interface TagCount {
  tag: string;
  members: number;
}

// GET /api/v1/tasks. assignee, closed_at, closed_by and note come with the assign/close endpoints.
export interface Task extends OperatorTask {
  community_id: number | null;
  group_id: number | null;
  member_id: number | null;
  evidence: string;
  cause_event: string;
  rule: string;
  assignee?: string | null;
  closed_at?: string | null;
  closed_by?: string | null;
  note?: string | null;
}

// GET /api/v1/moderation/decisions.
export interface Decision {
  id: number;
  time: string | null;
  group: string; // "platform:id"
  member: string; // "platform:id"
  member_id: number;
  name: string;
  event: string;
  signal: string;
  category: string;
  rule: string;
  quotes: string[] | null;
  text: string;
  score: number;
  strikes: number;
  actions: string; // "delete,warn"
  dry_run: boolean;
  status: string; // applied, dry_run, undone
  verdict: string; // "", spam, not_spam
  operator: string;
  reviewed_at: string | null;
}

// GET /api/v1/actions: an outbox record.
export interface OutboxAction {
  id: number;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string;
  platform_ref: string;
  idempotency_key: string;
  created_at: string | null;
  updated_at: string | null;
  action: {
    type?: string;
    community?: string;
    community_id?: number;
    platform?: string;
    group?: string;
    group_id?: number;
    member?: string;
    member_id?: number;
    text?: string;
    evidence?: string;
    cause_event?: string;
    rule?: string;
    [key: string]: unknown;
  } | null;
}

// A module state table's page (GET /api/v1/communities/{slug}/state/{module}/{table}).
export interface StatePage<T> {
  module: string;
  table: string;
  rows: T[];
  next_cursor: string | null;
}

// invites/codes rows (times in ms).
export interface InviteCodeRow {
  code: string;
  kind: string; // group, live, channel
  group: string;
  channel: string;
  inviter: string;
  created_by: string;
  created_at: number;
  joins: number;
}

// GET /api/v1/invites/{code}.
export interface Invite {
  code: string;
  kind: string;
  group: string | null;
  channel: string;
  inviter: string | null;
  created_by: string;
  created_at: string | null;
  joins: number;
  url: string;
  qr: string;
  name?: string;
  groups?: { group: string; name: string; members: number; capacity: number }[];
  hands_out?: string | null;
  next_overflow?: string | null;
  join_list: { member: string; name: string; group: string; inviter: string | null; at: string }[];
  next_cursor: string | null;
}

// broadcasts/broadcasts rows (times in ms).
export interface BroadcastRow {
  id: string;
  text_zh: string;
  text_en: string;
  target: string;
  groups: string;
  count: number;
  status: string; // scheduled, sent, cancelled
  at: number;
  sent_at: number;
  cause: string;
  created_by: string;
  created_at: number;
}

// GET /api/v1/broadcasts/{id}.
export interface Broadcast {
  id: string;
  status: string;
  text: { zh: string; en: string };
  target: string;
  at: string;
  sent_at: string | null;
  created_by: string;
  groups: number;
  delivery?: { pending: number; done: number; failed: number; possibly_sent: number };
  deliveries: { group: string; status: string; attempts?: number; error?: string | null; action?: number }[];
}

// GET /api/v1/accounts.
export interface Account {
  name: string;
  role: Role;
  created_at: string | null;
  disabled: boolean;
  communities?: CommunityRoles; // absent from a server before roles per community
}

// GET /api/v1/tokens (coming): each token's name and role; never the token.
export interface ApiToken {
  name: string;
  role?: Role;
  created_at?: string | null;
  [key: string]: unknown;
}
