// vue-i18n: Chinese by default, English on request; the choice is kept in localStorage. Every
// text the console shows comes from the message files: the shared ones beside this file (app,
// menu, header, roles, platforms, common; zh-CN.ts is the reference, en.ts has the same keys) and
// each page's own src/pages/<page>/i18n.ts (definePageMessages, the same check), picked up here
// by a glob like the router's, so adding a page touches no shared message file.
import { createI18n } from 'vue-i18n';
import zhCN from './zh-CN';
import en from './en';
import type { PageMessages } from './messages';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
const STORAGE_KEY = 'qunzhu.locale';

type Tree = Record<string, unknown>;

// The shared messages and every page's, one tree per language. Two files defining the same
// top-level key would silently hide each other's texts: that stops the app at start instead.
export function mergeMessages(shared: Record<Locale, Tree>, pages: Record<string, PageMessages>): Record<Locale, Tree> {
  const out: Record<Locale, Tree> = { 'zh-CN': { ...shared['zh-CN'] }, en: { ...shared.en } };
  const owner = new Map<string, string>(Object.keys(shared['zh-CN']).map((k) => [k, 'i18n/zh-CN.ts']));
  for (const [file, messages] of Object.entries(pages)) {
    for (const locale of LOCALES) {
      for (const [key, value] of Object.entries(messages[locale] as Tree)) {
        const previous = owner.get(key);
        if (previous !== undefined && previous !== file) {
          throw new Error(`i18n: the key '${key}' is defined by both ${previous} and ${file}`);
        }
        owner.set(key, file);
        out[locale][key] = value;
      }
    }
  }
  return out;
}

const pageFiles = import.meta.glob<{ default: PageMessages }>('../pages/*/i18n.ts', { eager: true });
const messages = mergeMessages({ 'zh-CN': zhCN, en },
  Object.fromEntries(Object.entries(pageFiles).map(([file, m]) => [file.replace(/^\.\.\//, ''), m.default])));

function savedLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && (LOCALES as readonly string[]).includes(saved)) return saved as Locale;
  } catch { /* storage unavailable: the default */ }
  return 'zh-CN';
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  // Typed as the shared messages (the keys vue-i18n is told of); the pages' are there too.
  messages: messages as unknown as Record<Locale, typeof zhCN>,
});
document.documentElement.lang = i18n.global.locale.value;

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  document.documentElement.lang = locale;
  try { localStorage.setItem(STORAGE_KEY, locale); } catch { /* not kept */ }
}
