import { Document } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/playbooks',
  name: 'playbooks',
  title: 'playbooks.title',
  menu: { order: 80, icon: Document },
  component: () => import('./PlaybooksPage.vue'),
});
