import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, linkedChildren, linkedParent } from '../src/context.js';
import { setErrorReporter } from '../src/report.js';

// Random operation sequences on random trees, checking after every step the invariants the
// rest of andon relies on.

type Op =
  | { op: 'stop' | 'kill' | 'dispose' | 'child' | 'unlink'; at: number }
  | { op: 'link'; at: number; to: number }
  | { op: 'new' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('stop', 'kill', 'dispose', 'child', 'unlink'),
    at: fc.nat(),
  }),
  fc.record({ op: fc.constant('link' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('new' as const) }),
) as fc.Arbitrary<Op>;

const RANK = { live: 0, stopped: 1, killed: 2 } as const;

interface Seen {
  rank: number;
  reason: unknown;
  disposed: boolean;
}

function isAncestor(candidate: Context, node: Context): boolean {
  for (let n = linkedParent(node); n !== undefined; n = linkedParent(n))
    if (n === candidate) return true;
  return false;
}

function check(nodes: Context[], seen: Map<Context, Seen>): void {
  for (const node of nodes) {
    const before = seen.get(node);
    const rank = RANK[node.state];
    if (before) {
      // Monotonic: state never goes back, the reason never changes once set, dispose sticks.
      expect(rank).toBeGreaterThanOrEqual(before.rank);
      if (before.reason !== undefined) expect(node.reason).toBe(before.reason);
      if (before.disposed) {
        expect(node.disposed).toBe(true);
        expect(rank).toBe(before.rank);
      }
    }
    expect(node.isStopped()).toBe(rank > 0);
    expect(node.reason === undefined).toBe(rank === 0);
    const children = linkedChildren(node);
    if (node.disposed) {
      // Nothing linked after dispose, on either side.
      expect(children).toEqual([]);
      expect(linkedParent(node)).toBeUndefined();
    }
    for (const child of children) {
      expect(linkedParent(child)).toBe(node);
      expect(child.disposed).toBe(false);
      // Every descendant of a cancelled node is cancelled at least as far.
      expect(RANK[child.state]).toBeGreaterThanOrEqual(rank);
    }
    expect(isAncestor(node, node)).toBe(false);
    seen.set(node, { rank, reason: node.reason, disposed: node.disposed });
  }
}

function apply(nodes: Context[], links: Map<Context, Disposable>, step: Op): void {
  if (step.op === 'new') {
    nodes.push(new Context());
    return;
  }
  const node = nodes[step.at % nodes.length]!;
  switch (step.op) {
    case 'stop':
      node.stop();
      return;
    case 'kill':
      node.kill();
      return;
    case 'dispose':
      node.dispose();
      return;
    case 'child':
      if (node.disposed) expect(() => node.child()).toThrow(TypeError);
      else nodes.push(node.child());
      return;
    case 'unlink':
      links.get(node)?.[Symbol.dispose]();
      return;
    case 'link': {
      const child = nodes[step.to % nodes.length]!;
      const refused =
        node.disposed ||
        child.disposed ||
        linkedParent(child) !== undefined ||
        child === node ||
        isAncestor(child, node);
      if (refused) {
        expect(() => node.linkChild(child)).toThrow(TypeError);
      } else {
        links.set(child, node.linkChild(child));
        // Linked under a cancelled parent: cancelled at once.
        expect(RANK[child.state]).toBeGreaterThanOrEqual(RANK[node.state]);
      }
      return;
    }
  }
}

describe('property: random operations on random trees keep the invariants', () => {
  it('holds for every sequence', () => {
    const previous = setErrorReporter(() => {});
    try {
      fc.assert(
        fc.property(
          fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
          fc.array(opArb, { maxLength: 60 }),
          (shape, ops) => {
            // Node i (i > 0) starts under a random earlier node.
            const nodes = [new Context()];
            for (let i = 1; i < shape.length; i++) nodes.push(nodes[shape[i]! % i]!.child());
            const seen = new Map<Context, Seen>();
            const links = new Map<Context, Disposable>();
            check(nodes, seen);
            for (const step of ops) {
              apply(nodes, links, step);
              check(nodes, seen);
            }
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      setErrorReporter(previous);
    }
  });

  it('callbacks run exactly once per transition, whatever the order of operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        fc.array(fc.record({ op: fc.constantFrom('stop', 'kill', 'dispose'), at: fc.nat() })),
        (shape, ops) => {
          const nodes = [new Context()];
          for (let i = 1; i < shape.length; i++) nodes.push(nodes[shape[i]! % i]!.child());
          const stops = new Map<Context, number>();
          const kills = new Map<Context, number>();
          for (const n of nodes) {
            n.onStop(() => stops.set(n, (stops.get(n) ?? 0) + 1));
            n.onKill(() => kills.set(n, (kills.get(n) ?? 0) + 1));
          }
          for (const { op, at } of ops)
            nodes[at % nodes.length]![op as 'stop' | 'kill' | 'dispose']();
          for (const n of nodes) {
            expect(stops.get(n) ?? 0).toBe(n.isStopped() ? 1 : 0);
            expect(kills.get(n) ?? 0).toBe(n.isKilled() ? 1 : 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
