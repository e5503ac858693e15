// vue-i18n: Chinese by default, English on request; the choice is kept in localStorage. Every
// text the console shows comes from the message files beside this one (zh-CN.ts is the
// reference; en.ts has the same keys, checked by the type below).
import { createI18n } from 'vue-i18n';
import zhCN from './zh-CN';
import en from './en';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
const STORAGE_KEY = 'qunzhu.locale';

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
  messages: { 'zh-CN': zhCN, en },
});
document.documentElement.lang = i18n.global.locale.value;

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  document.documentElement.lang = locale;
  try { localStorage.setItem(STORAGE_KEY, locale); } catch { /* not kept */ }
}
