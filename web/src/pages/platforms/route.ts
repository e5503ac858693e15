import { Connection } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/platforms',
  name: 'platforms',
  title: 'platformsPage.title',
  menu: { order: 90, icon: Connection },
  component: () => import('./PlatformsPage.vue'),
});
