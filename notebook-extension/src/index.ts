import { statusPlugin } from './plugin';

export * from './status';
export default [statusPlugin];
