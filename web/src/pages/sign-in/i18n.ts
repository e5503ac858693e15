import { definePageMessages } from '@/i18n/messages';

export default definePageMessages({
  signIn: {
    title: '登录运营控制台',
    name: '账号',
    password: '密码',
    namePlaceholder: '账号名，例如 admin',
    passwordPlaceholder: '密码',
    submit: '登录',
    required: '请输入账号和密码',
    wrong: '账号或密码错误',
    tooMany: '登录失败次数过多，请 {seconds} 秒后再试',
    failed: '登录失败：{message}',
    firstStart: '首次启动时，服务器会创建账号 admin，并在标准输出中显示一次其密码。',
  },
}, {
  signIn: {
    title: 'Sign in to the operator console',
    name: 'Name',
    password: 'Password',
    namePlaceholder: 'account name, e.g. admin',
    passwordPlaceholder: 'password',
    submit: 'Sign in',
    required: 'Enter a name and a password',
    wrong: 'Wrong name or password',
    tooMany: 'Too many failed sign-ins: try again in {seconds} s',
    failed: 'Sign-in failed: {message}',
    firstStart: 'On its first start the server creates the account admin and prints its password once on standard output.',
  },
});
