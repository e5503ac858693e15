import { definePage } from '@/router/page';

export default definePage({
  path: '/sign-in',
  name: 'sign-in',
  title: 'signIn.title',
  public: true,
  bare: true,
  component: () => import('./SignInPage.vue'),
});
