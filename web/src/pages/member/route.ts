import { definePage } from '@/router/page';

export default definePage({
  path: '/members/:id',
  name: 'member',
  title: 'member.title',
  menuPath: '/members',
  component: () => import('./MemberPage.vue'),
});
