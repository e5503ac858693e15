import { definePage } from '@/router/page';

export default definePage({
  path: '/:pathMatch(.*)*',
  name: 'not-found',
  title: 'notFound.title',
  component: () => import('./NotFoundPage.vue'),
});
