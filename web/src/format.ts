// Numbers and times in the console's language.
import { i18n } from '@/i18n';

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(i18n.global.locale.value).format(n);
}

// A time from the API (RFC 3339, or milliseconds since the epoch in module state rows) as a local
// date and time; `never` when there is none (null, empty, 0).
export function formatTime(value: string | number | null | undefined, never: string): string {
  if (!value) return never;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(i18n.global.locale.value, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// The same with seconds (logs, timelines).
export function formatTimeExact(value: string | number | null | undefined, never: string): string {
  if (!value) return never;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(i18n.global.locale.value, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}

// A translated name when the messages have one (`prefix.value`), else the value as it is.
export function nameOf(prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return i18n.global.te(key) ? i18n.global.t(key) : value;
}
