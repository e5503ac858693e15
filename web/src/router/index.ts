// The router: every src/pages/*/route.ts, the layout around the pages that want it, and the
// guard that sends a signed-out visitor to sign-in (and back where they were going after).
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import ConsoleLayout from '@/layout/ConsoleLayout.vue';
import { useSessionStore } from '@/stores/session';
import type { ConsolePage } from './page';

const modules = import.meta.glob<{ default: ConsolePage }>('../pages/*/route.ts', { eager: true });
export const pages: ConsolePage[] = Object.values(modules).map((m) => m.default);

function record(page: ConsolePage, path: string): RouteRecordRaw {
  return {
    path,
    name: page.name,
    component: page.component,
    meta: { title: page.title, public: page.public ?? false, menu: page.menu, menuPath: page.menuPath },
  };
}

const routes: RouteRecordRaw[] = [
  ...pages.filter((p) => p.bare).map((p) => record(p, p.path)),
  {
    path: '/',
    component: ConsoleLayout,
    children: pages.filter((p) => !p.bare).map((p) => record(p, p.path.replace(/^\//, ''))),
  },
];

export const router = createRouter({ history: createWebHistory(), routes });

// Only paths of this app are followed after signing in (never another origin).
export function safeRedirect(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/';
}

router.beforeEach(async (to) => {
  const session = useSessionStore();
  try {
    await session.load();
  } catch {
    // The server cannot be reached: treated as signed out; the sign-in page says so when used.
  }
  if (!to.meta.public && !session.signedIn) {
    return { name: 'sign-in', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } };
  }
  if (to.name === 'sign-in' && session.signedIn) return safeRedirect(to.query.redirect);
  return true;
});
