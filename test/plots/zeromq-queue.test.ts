/**
 * The kernel's zeromq sends, chained: tslab does not wait for one send before the next, and zeromq 6 throws EBUSY
 * while a send is in flight (the ResNet-50 notebook's kernel died of it). Real sockets: a PUSH whose high-water mark
 * is 1 against a PULL that reads only after every send was started.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { queueZeromqSends, type ZeromqModule } from '../../lib/plots/display';

interface Socket {
  bind(a: string): Promise<void>;
  readonly lastEndpoint: string | null;
  connect(a: string): void;
  send(m: Buffer[]): Promise<void>;
  receive(): Promise<Buffer[]>;
  close(): void;
}
type Zeromq = ZeromqModule & { Push: new (o: object) => Socket; Pull: new (o: object) => Socket };
const zmq = createRequire(require.resolve('tslab/dist/jupyter'))('zeromq') as Zeromq;

/** Starts `n` 10 MB sends without waiting, then reads them all; the sends' outcomes, or the error thrown starting one. */
async function burst(n: number): Promise<{ thrown?: string; settled: string[]; received: number }> {
  const push = new zmq.Push({ sendHighWaterMark: 1 });
  await push.bind('tcp://127.0.0.1:*'); // a free port
  const pull = new zmq.Pull({ receiveHighWaterMark: 1 });
  pull.connect(push.lastEndpoint!);
  await new Promise((r) => setTimeout(r, 200));
  const sends: Promise<void>[] = [];
  let thrown: string | undefined;
  try {
    for (let i = 0; i < n; i++) sends.push(push.send([Buffer.alloc(1e7, i)]));
  } catch (e) {
    thrown = (e as NodeJS.ErrnoException).code;
  }
  let received = 0;
  for (let i = 0; i < sends.length; i++) if ((await pull.receive())[0]![0] === i) received++;
  const settled = (await Promise.allSettled(sends)).map((r) => r.status);
  push.close();
  pull.close();
  return { thrown, settled, received };
}

describe('queueZeromqSends', () => {
  it('without it a burst of sends throws EBUSY; with it every send goes out, in order', async () => {
    const before = await burst(10);
    expect(before.thrown).toBe('EBUSY');
    queueZeromqSends(zmq);
    const after = await burst(10);
    expect(after.thrown).toBeUndefined();
    expect(after.settled).toEqual(Array(10).fill('fulfilled'));
    expect(after.received).toBe(10); // each message's first byte is its index: received in the order sent
  });
});
