import { definePageMessages } from '@/i18n/messages';

export default definePageMessages({
  members: {
    title: '成员',
    search: '搜索昵称或平台 ID',
    id: 'ID',
    name: '昵称',
    community: '社群',
    channel: '来源渠道',
    messages: '消息',
    checkins: '打卡',
    invited: '邀请',
    orders: '订单',
    firstSeen: '首次出现',
    lastSeen: '最近出现',
    empty: '没有符合条件的成员',
    noName: '（无昵称）',
  },
}, {
  members: {
    title: 'Members',
    search: 'Search by name or platform id',
    id: 'ID',
    name: 'Name',
    community: 'Community',
    channel: 'Channel',
    messages: 'Messages',
    checkins: 'Check-ins',
    invited: 'Invited',
    orders: 'Orders',
    firstSeen: 'First seen',
    lastSeen: 'Last seen',
    empty: 'No members match',
    noName: '(no name)',
  },
});
