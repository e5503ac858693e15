import { ChatDotRound } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/sandbox',
  name: 'sandbox',
  title: 'sandbox.title',
  menu: { order: 95, icon: ChatDotRound },
  component: () => import('./SandboxPage.vue'),
});
