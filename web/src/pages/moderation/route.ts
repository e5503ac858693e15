import { Lock } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/moderation',
  name: 'moderation',
  title: 'moderation.title',
  menu: { order: 50, icon: Lock },
  component: () => import('./ModerationPage.vue'),
});
