import { DataAnalysis } from '@element-plus/icons-vue';
import { definePage } from '@/router/page';

export default definePage({
  path: '/',
  name: 'overview',
  title: 'overview.title',
  menu: { order: 10, icon: DataAnalysis },
  component: () => import('./OverviewPage.vue'),
});
