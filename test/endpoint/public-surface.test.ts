/** The endpoint's public surface: events are the endpoint's to emit (issue 17). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cast, text } from '../support/endpoints.js';
import { utf8 } from '../../src/bytes/index.js';

test('an application cannot emit a fake message on an endpoint; listeners and events.once work as on an EventEmitter', async () => {
  const c = await cast(['cc', 'der-1']);
  try {
    const cc = c.eps.cc!;
    // @ts-expect-error emit is not public (the typecheck of the tests fails if it becomes public again)
    assert.equal(typeof cc.emit === 'function' ? 'callable' : 'absent', 'callable'); // protected: exists, not typed
    assert.equal((cc as unknown as { on: unknown }).on instanceof Function, true);
    const got = once(cc as never, 'message');
    await c.eps['der-1']!.send('cc', utf8('hi'));
    const [m] = (await got) as [{ data: Uint8Array }];
    assert.equal(new TextDecoder().decode(m.data), 'hi');
    assert.ok(c.inbox.cc!.map(text).includes('hi'));
    const f = (): void => undefined;
    cc.on('reject', f);
    assert.ok(cc.listenerCount('reject') >= 1);
    cc.off('reject', f);
  } finally {
    await c.close();
  }
});

test('[SPEC 8.2] a payload too large for the transport: the message says how many payload bytes fit, and the frame limit once', async () => {
  const c = await cast(['cc', 'der-1']);
  try {
    const max = c.eps['der-1']!['transport' as never] as unknown as { maxFrameSize: number };
    const big = new Uint8Array(max.maxFrameSize);
    await assert.rejects(c.eps['der-1']!.send('cc', big), (e: unknown) => {
      const m = String((e as Error).message);
      assert.equal((e as { code?: string }).code, 'ERR_PAYLOAD_TOO_LARGE');
      assert.match(
        m,
        new RegExp(
          `^${big.length} bytes of payload: at most ${max.maxFrameSize - 67} fit one memory frame \\(maxFrameSize ${max.maxFrameSize} minus 67 bytes of record overhead\\)$`,
        ),
      );
      return true;
    });
    // exactly the announced limit is accepted
    await c.eps['der-1']!.send('cc', new Uint8Array(max.maxFrameSize - 67), { confirm: true });
  } finally {
    await c.close();
  }
});
