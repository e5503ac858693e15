// The shape of the console's message files. zh-CN is the reference: a file's English messages
// must have exactly its keys (a missing or extra key is a type error in the build).
export type Messages<T> = { [K in keyof T]: T[K] extends string ? string : Messages<T[K]> };

// What a page's src/pages/<page>/i18n.ts exports by default: its texts in both languages, under
// keys of its own (by convention one top-level key, the page's name), merged into the i18n
// instance by i18n/index.ts (a key two files define is an error at start).
export interface PageMessages<T extends object = object> {
  'zh-CN': T;
  en: Messages<T>;
}

export function definePageMessages<T extends object>(zhCN: T, en: Messages<T>): PageMessages<T> {
  return { 'zh-CN': zhCN, en };
}
