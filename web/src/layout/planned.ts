// Pages the side menu names before they exist (issue #11), shown disabled with "coming". When one
// is built, its route.ts declares `menu` and its line here goes. Every page of #11 is built now;
// the list stays for the next ones (their titles' keys in i18n/zh-CN.ts `menu`).
import type { Component } from 'vue';

export const plannedPages: { title: string; order: number; icon: Component }[] = [];
