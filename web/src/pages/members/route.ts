import { User } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/members',
  name: 'members',
  title: 'members.title',
  menu: { order: 30, icon: User },
  component: () => import('./MembersPage.vue'),
});
