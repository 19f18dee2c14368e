// Request-targets split by hand (main/api/request-target.ts): the targets that once crashed Kura
// through `new URL` split without throwing, and each path is routed to the protocol it belongs to.
import { describe, expect, it } from 'vitest';
import { routeOf, splitRequestTarget } from '../../main/api/request-target.js';

describe('splitRequestTarget', () => {
  it.each([
    ['//', { path: '//', query: '' }],
    ['///', { path: '///', query: '' }],
    ['//a:99999', { path: '//a:99999', query: '' }],
    ['//?x', { path: '//', query: 'x' }],
    ['//@', { path: '//@', query: '' }],
    ['/\\', { path: '/\\', query: '' }],
    ['//a%zz', { path: '//a%zz', query: '' }],
    ['http://[/', { path: '/', query: '' }],
    ['http://a:99999/', { path: '/', query: '' }],
    ['http://a', { path: '/', query: '' }],
    ['http://a?x=1', { path: '/', query: 'x=1' }],
    ['HTTP://h/admin/v1/status?y', { path: '/admin/v1/status', query: 'y' }],
    ['/?a=b#frag', { path: '/', query: 'a=b' }],
    ['/', { path: '/', query: '' }],
  ])('%s splits without throwing', (target, expected) => {
    expect(splitRequestTarget(target)).toEqual(expected);
  });

  it.each(['*', '', 'abc', 'a/b', 'http:/x'])('%j is not a target Kura serves', (target) => {
    expect(splitRequestTarget(target)).toBeUndefined();
  });
});

describe('routeOf', () => {
  it.each([
    ['/', 'kms'],
    ['/admin', 'admin'],
    ['/admin/v1/status', 'admin'],
    ['/administrator', 'other'],
    ['/kms/xks/v1/health', 'xks'],
    ['/prefix/kms/xks/v1/keys/k/encrypt', 'xks'],
    ['//', 'other'],
    ['/console', 'console'],
    ['/console/assets/x.js', 'console'],
    ['/consoles', 'other'],
  ])('%s → %s', (path, family) => {
    expect(routeOf(path)).toBe(family);
  });
});
