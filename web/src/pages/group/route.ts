import { definePage } from '@/router/page';

export default definePage({
  path: '/groups/:id',
  name: 'group',
  title: 'group.title',
  menuPath: '/groups',
  component: () => import('./GroupPage.vue'),
});
