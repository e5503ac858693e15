// The console's entry: Vue with pinia, the router and i18n; Element Plus's styles.
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { vLoading } from 'element-plus';
import 'element-plus/dist/index.css';
import './style.css';
import App from './App.vue';
import { i18n } from './i18n';
import { router } from './router';
import { setUnauthenticatedHandler } from './api/client';
import { useSessionStore } from './stores/session';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia).use(i18n).use(router);
// Element Plus's v-loading, for the tables (its components are imported where used).
app.directive('loading', vLoading);

// A 401 from any request: the session has ended (expired, signed out elsewhere, password changed).
setUnauthenticatedHandler(() => {
  useSessionStore(pinia).clear();
  const current = router.currentRoute.value;
  if (current.name !== 'sign-in') {
    void router.push({ name: 'sign-in', query: current.fullPath === '/' ? {} : { redirect: current.fullPath } });
  }
});

app.mount('#app');
