import { Avatar } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/accounts',
  name: 'accounts',
  title: 'accounts.title',
  menu: { order: 100, icon: Avatar },
  component: () => import('./AccountsPage.vue'),
});
