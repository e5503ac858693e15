import { Ticket } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/invites',
  name: 'invites',
  title: 'invites.title',
  menu: { order: 60, icon: Ticket },
  component: () => import('./InvitesPage.vue'),
});
