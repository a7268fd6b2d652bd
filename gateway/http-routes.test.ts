import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchRoute, mapResult } from './http-routes.ts';

const route = (method: string, path: string, fn = path) => ({
  method: method as 'GET',
  path,
  segments: path.split('/').filter(Boolean),
  fn,
});

test('the most specific route wins: literal over {param} over {greedy+}, method over ANY', () => {
  const routes = [
    route('ANY', '/users/{id}', 'any'),
    route('GET', '/users/{id}', 'param'),
    route('GET', '/users/me', 'literal'),
    route('GET', '/files/{path+}', 'greedy'),
    route('GET', '/', 'root'),
  ];
  assert.equal(matchRoute(routes, 'GET', '/users/me')?.route.fn, 'literal');
  assert.deepEqual(matchRoute(routes, 'GET', '/users/42')?.params, { id: '42' });
  assert.equal(matchRoute(routes, 'GET', '/users/42')?.route.fn, 'param');
  assert.equal(matchRoute(routes, 'DELETE', '/users/42')?.route.fn, 'any');
  assert.deepEqual(matchRoute(routes, 'GET', '/files/a/b%20c.txt')?.params, { path: 'a/b c.txt' });
  assert.equal(matchRoute(routes, 'GET', '/files')?.route.fn, undefined);
  assert.equal(matchRoute(routes, 'GET', '/users/42/extra'), undefined);
  assert.equal(matchRoute(routes, 'GET', '/')?.route.fn, 'root');
});

test('a result without statusCode becomes a 200 JSON body (the shortcut)', () => {
  const r = mapResult(Buffer.from('{"hello":"world"}'));
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), '{"hello":"world"}');
});

test('statusCode, headers, cookies and base64 bodies are mapped back', () => {
  const r = mapResult(
    Buffer.from(
      JSON.stringify({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'X-Id': 7 },
        cookies: ['a=1', 'b=2; Secure'],
        body: Buffer.from([0, 1, 2, 255]).toString('base64'),
        isBase64Encoded: true,
      }),
    ),
  );
  assert.equal(r.status, 201);
  assert.deepEqual(r.headers, { 'content-type': 'image/png', 'x-id': '7' });
  assert.deepEqual(r.cookies, ['a=1', 'b=2; Secure']);
  assert.deepEqual([...r.body], [0, 1, 2, 255]);
});

test('a result that is not JSON or has an impossible statusCode is a 500', () => {
  assert.equal(mapResult(Buffer.from('not json')).status, 500);
  assert.equal(mapResult(Buffer.from('{"statusCode":42}')).status, 500);
});
