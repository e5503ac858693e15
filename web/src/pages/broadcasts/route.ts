import { Message } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/broadcasts',
  name: 'broadcasts',
  title: 'broadcasts.title',
  menu: { order: 70, icon: Message },
  component: () => import('./BroadcastsPage.vue'),
});
