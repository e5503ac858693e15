// The shapes of the qunzhu API's answers the console reads (README.md, "HTTP API").

export type Role = 'viewer' | 'assistant' | 'operator' | 'admin' | 'owner';

// GET/POST /api/v1/session: an account's session (a token has {token, role} instead).
export interface SessionInfo {
  account?: string;
  token?: string;
  role: Role;
  csrf?: string;
  expires_at?: string;
}

export interface Stats {
  events: number;
  members: number;
  groups: number;
  communities: number;
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
  connections: ConnectionHealth[];
}
