// What a page of the console declares in its folder's route.ts (src/pages/<page>/route.ts). The
// router (router/index.ts) picks up every such file, so adding a page touches no other page.
import type { Component } from 'vue';

export interface ConsolePage {
  path: string; // absolute, at most two segments (the binary serves /{page} and /{page}/{id})
  name: string; // the route's name
  component: () => Promise<Component | { default: Component }>; // loaded when first visited
  title: string; // the i18n key of its title (menu, document title)
  public?: boolean; // reachable signed out (only sign-in)
  bare?: boolean; // shown without the layout's menu and header
  menu?: { order: number; icon: Component }; // listed in the side menu
  menuPath?: string; // a page not in the menu: the menu entry to highlight (a member → /members)
}

export function definePage(page: ConsolePage): ConsolePage {
  return page;
}

declare module 'vue-router' {
  interface RouteMeta {
    title?: string;
    public?: boolean;
    menu?: ConsolePage['menu'];
    menuPath?: string;
  }
}
