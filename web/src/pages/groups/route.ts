import { ChatDotRound } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/groups',
  name: 'groups',
  title: 'groups.title',
  menu: { order: 20, icon: ChatDotRound },
  component: () => import('./GroupsPage.vue'),
});
