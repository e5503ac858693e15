import { definePageMessages } from '@/i18n/messages';

export default definePageMessages({
  notFound: {
    title: '页面不存在',
    back: '返回概览',
  },
}, {
  notFound: {
    title: 'No such page',
    back: 'Back to the overview',
  },
});
