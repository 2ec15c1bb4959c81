/** [SPEC 5.4] A ClearToken1 with the wrong `role` for its frame, or a role value that does not exist, is ERR_MALFORMED. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HopsafeError } from '../../src/errors/index.js';
import { toHex, fromHex } from '../../src/bytes/index.js';
import { decodeSignedClearToken1, encodeClearToken1, encodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { decodeHandshakeResponse, encodeHandshakeInit, encodeHandshakeResponse } from '../../src/codec/frame.js';
import { complete, initiate, precheckInit, respond, responseFrame } from '../../src/session/handshake.js';
import { makePair } from '../support/session-pair.js';

const malformed = (e: unknown): boolean => e instanceof HopsafeError && e.code === 'ERR_MALFORMED';

test('[SPEC 5.4] role = responder in an HS_INIT, role = initiator in an HS_RESP, and role 2 are ERR_MALFORMED', async () => {
  const p = await makePair({ keyType: 'ed25519' });
  const now = Date.now();
  const { pending, frame } = initiate(p.a, p.idB, now);
  const st = decodeSignedClearToken1(frame.subarray(1));
  const asResponder = encodeHandshakeInit(encodeSignedClearToken1(encodeClearToken1({ ...st.token, role: 'responder' }), st.signature));
  assert.throws(() => precheckInit(p.b, asResponder, p.idA, now), malformed);
  // role is the ENUMERATED right after `version INTEGER 1`: 02 01 01 0a 01 00 → value 2
  const hex = toHex(frame);
  const at = hex.indexOf('0201010a0100');
  assert.ok(at > 0);
  const role2 = fromHex(`${hex.slice(0, at)}0201010a0102${hex.slice(at + 12)}`);
  assert.throws(() => precheckInit(p.b, role2, p.idA, now), malformed);

  const r = await respond(p.b, frame, p.idA, now);
  const rt = decodeSignedClearToken1(decodeHandshakeResponse(responseFrame(r.token)).token);
  const asInitiator = encodeHandshakeResponse(encodeSignedClearToken1(encodeClearToken1({ ...rt.token, role: 'initiator' }), rt.signature));
  await assert.rejects(complete(p.a, pending, asInitiator, p.idB, now), malformed);
  // the genuine response still completes the (still pending) handshake
  assert.ok((await complete(p.a, pending, responseFrame(r.token), p.idB, now)).session);
});
