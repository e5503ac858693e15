// Who is signed in (pinia). Loaded once from GET /api/v1/session when the app starts (the cookie
// is HttpOnly: only the server can tell), set by signing in, cleared by signing out or any 401.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, setCsrfToken } from '@/api/client';
import type { CommunityRoles, Role, SessionInfo } from '@/api/types';

export const ROLE_ORDER: readonly Role[] = ['viewer', 'assistant', 'operator', 'admin', 'owner'];
// The roles an account may have inside one community: owner is global.
export const COMMUNITY_ROLES: readonly Role[] = ROLE_ORDER.filter((r) => r !== 'owner');

export function roleAtLeast(have: Role | null | undefined, min: Role): boolean {
  return !!have && ROLE_ORDER.indexOf(have) >= ROLE_ORDER.indexOf(min);
}

export const useSessionStore = defineStore('session', () => {
  const account = ref<string | null>(null);
  const role = ref<Role | null>(null);
  const communities = ref<CommunityRoles>({});
  const expiresAt = ref<string | null>(null);
  const loaded = ref(false);
  let loading: Promise<void> | null = null;

  const signedIn = computed(() => account.value !== null);

  // Whether the signed-in role is at least `min` (the server decides; this only hides or
  // explains what it would refuse).
  function can(min: Role): boolean {
    return roleAtLeast(role.value, min);
  }
  // The role that applies inside the community `slug`: its role there, else the base role.
  function roleIn(slug: string | null | undefined): Role | null {
    return (slug ? communities.value[slug] : undefined) ?? role.value;
  }
  // Whether the signed-in account may do what needs `min` inside the community `slug` (the
  // server checks it again: this only hides or disables what it would refuse).
  function canIn(min: Role, slug: string | null | undefined): boolean {
    return roleAtLeast(roleIn(slug), min);
  }

  function set(info: SessionInfo): void {
    account.value = info.account ?? info.token ?? null;
    role.value = info.role;
    communities.value = info.communities ?? {};
    expiresAt.value = info.expires_at ?? null;
    setCsrfToken(info.csrf ?? '');
  }

  function clear(): void {
    account.value = null;
    role.value = null;
    communities.value = {};
    expiresAt.value = null;
    setCsrfToken('');
  }

  // Asks the server once (later calls share the answer); a 401 means signed out.
  function load(): Promise<void> {
    if (loaded.value) return Promise.resolve();
    loading ??= api.get<SessionInfo>('/api/v1/session', { expectUnauthenticated: true })
      .then(set)
      .catch((e: unknown) => {
        clear();
        if ((e as { status?: number }).status !== 401) throw e;
      })
      .finally(() => {
        loaded.value = true;
        loading = null;
      });
    return loading;
  }

  async function signIn(name: string, password: string): Promise<void> {
    const info = await api.post<SessionInfo>('/api/v1/session', { name, password }, { expectUnauthenticated: true });
    set(info);
    loaded.value = true;
  }

  async function signOut(): Promise<void> {
    try {
      await api.delete('/api/v1/session', { expectUnauthenticated: true });
    } finally {
      clear();
    }
  }

  return { account, role, communities, expiresAt, loaded, signedIn, can, roleIn, canIn, load, signIn, signOut, clear };
});
