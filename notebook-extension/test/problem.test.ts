import { describeFailure } from '../src/problem';

describe('describeFailure', () => {
  it('uses the problem details the server sent', async () => {
    const response = new Response(JSON.stringify({ title: 'Invalid slice', detail: 'memoryMiB must be at most 81920' }), {
      status: 400,
      statusText: 'Bad Request'
    });
    expect(await describeFailure(response)).toBe('400 Bad Request: Invalid slice: memoryMiB must be at most 81920');
  });

  it('falls back to the status and the body’s first line', async () => {
    expect(await describeFailure(new Response('Cross-origin request refused\nmore', { status: 403, statusText: 'Forbidden' }))).toBe(
      '403 Forbidden: Cross-origin request refused'
    );
    expect(await describeFailure(new Response('', { status: 404, statusText: 'Not Found' }))).toBe('404 Not Found');
  });
});
