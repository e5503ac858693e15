import { Promotion } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/actions',
  name: 'actions',
  title: 'actions.title',
  menu: { order: 55, icon: Promotion },
  component: () => import('./ActionsPage.vue'),
});
