// Pages the side menu names before they exist (issue #11), shown disabled with "coming". When one
// is built, its route.ts declares `menu` and its line here goes.
import type { Component } from 'vue';
import { Avatar, Connection, Document, List, Lock, Promotion, Ticket, User } from '@element-plus/icons-vue';

export const plannedPages: { title: string; order: number; icon: Component }[] = [
  { title: 'menu.members', order: 30, icon: User },
  { title: 'menu.tasks', order: 40, icon: List },
  { title: 'menu.moderation', order: 50, icon: Lock },
  { title: 'menu.invites', order: 60, icon: Ticket },
  { title: 'menu.broadcasts', order: 70, icon: Promotion },
  { title: 'menu.playbooks', order: 80, icon: Document },
  { title: 'menu.platforms', order: 90, icon: Connection },
  { title: 'menu.accounts', order: 100, icon: Avatar },
];
