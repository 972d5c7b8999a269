// The one mapping table and Node's error shapes, checked against Node itself.
import * as nodeDgram from 'node:dgram';
import { getSystemErrorMap } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CORE_ERROR_CODES, ERRNO, NodeErrors, describeReceived, errnoException, exceptionWithHostPort, validatePort } from '../../src/api/errors.js';

function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('did not throw');
}

describe('errors: the core-code table', () => {
  it('takes every errno from util.getSystemErrorMap()', () => {
    const map = getSystemErrorMap();
    for (const c of CORE_ERROR_CODES) {
      const errno = ERRNO[c];
      if (errno === undefined) continue;
      expect(map.get(errno)?.[0]).toBe(c);
    }
    expect(ERRNO.ECONNREFUSED).toBeDefined();
    expect(ERRNO.EADDRINUSE).toBeDefined();
  });

  it('builds system errors the way Node does', () => {
    const e = exceptionWithHostPort('EHOSTUNREACH', 'send', '198.51.100.9', 53);
    expect([e.message, e.code, e.syscall, e.address, e.port, e.errno]).toEqual(['send EHOSTUNREACH 198.51.100.9:53', 'EHOSTUNREACH', 'send', '198.51.100.9', 53, ERRNO.EHOSTUNREACH]);
    expect(Object.keys(e)).toEqual(['errno', 'code', 'syscall', 'address', 'port']);
    const z = exceptionWithHostPort('EADDRNOTAVAIL', 'bind', '1.2.3.4', 0);
    expect([z.message, Object.keys(z)]).toEqual(['bind EADDRNOTAVAIL 1.2.3.4', ['errno', 'code', 'syscall', 'address']]);
    const r = errnoException('ECONNREFUSED', 'recvmsg');
    expect([r.message, Object.keys(r)]).toEqual(['recvmsg ECONNREFUSED', ['errno', 'code', 'syscall']]);
  });

  it('reproduces Node internal errors: class, code, message and "Name [CODE]" form', () => {
    const s = nodeDgram.createSocket('udp4');
    const theirs = [
      thrown(() => s.remoteAddress()),
      thrown(() => s.send('x', 0, '127.0.0.1')),
      thrown(() => s.send('x', 'a' as never, '127.0.0.1')),
      thrown(() => s.send('abc', 5, 1, 53, '127.0.0.1')),
      thrown(() => s.addMembership(undefined as never)),
      thrown(() => nodeDgram.createSocket('udp5' as never)),
    ];
    s.close();
    const ours = [
      NodeErrors.socketDgramNotConnected(),
      thrown(() => validatePort(0, 'Port', false)),
      thrown(() => validatePort('a', 'Port', false)),
      NodeErrors.bufferOutOfBounds('offset'),
      NodeErrors.missingArgs('multicastAddress'),
      NodeErrors.socketBadType(),
    ];
    for (let i = 0; i < theirs.length; i++) {
      const t = theirs[i]!;
      const o = ours[i]!;
      expect([o.constructor.name, o.code, o.message, String(o), Object.keys(o)]).toEqual([t.constructor.name, t.code, t.message, String(t), Object.keys(t)]);
      // What plain Node prints as the first stack line (test runners may format their own).
      expect(o.stack!.split('\n')[0]).toBe(`${t.name} [${t.code}]: ${t.message}`);
    }
  });

  it('describes received values like Node', () => {
    expect(describeReceived(undefined)).toBe('undefined');
    expect(describeReceived(70000)).toBe('type number (70000)');
    expect(describeReceived('x')).toBe("type string ('x')");
    expect(describeReceived([1])).toBe('an instance of Array');
    expect(validatePort('53')).toBe(53);
  });
});
