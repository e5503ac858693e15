// Numbers and times in the console's language.
import { i18n } from '@/i18n';

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(i18n.global.locale.value).format(n);
}

// An RFC 3339 time from the API as a local date and time; `never` when there is none.
export function formatTime(value: string | null | undefined, never: string): string {
  if (!value) return never;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return new Intl.DateTimeFormat(i18n.global.locale.value, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
