import { List } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/tasks',
  name: 'tasks',
  title: 'tasks.title',
  menu: { order: 40, icon: List },
  component: () => import('./TasksPage.vue'),
});
