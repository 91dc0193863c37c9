import { describe, expect, it } from 'vitest';
import { Context, linkedChildren } from '../src/context.js';

describe('deep trees (10 000 levels) cost no stack', () => {
  const DEPTH = 10_000;
  function chain(): Context[] {
    const nodes = [new Context()];
    for (let i = 1; i < DEPTH; i++) nodes.push(nodes[i - 1]!.child());
    return nodes;
  }

  it('a stop reaches the deepest leaf with the root reason as cause', () => {
    const nodes = chain();
    const leaf = nodes[DEPTH - 1]!;
    let leafCalls = 0;
    leaf.onStop(() => leafCalls++);
    nodes[0]!.stop('root');
    expect(leaf.state).toBe('stopped');
    expect(leaf.reason?.cause?.message).toBe('root');
    expect(leafCalls).toBe(1);
    nodes[0]!.kill();
    expect(leaf.isKilled()).toBe(true);
  });

  it('refuses a cycle through 10 000 ancestors', () => {
    const nodes = chain();
    expect(() => nodes[DEPTH - 1]!.linkChild(nodes[0]!)).toThrow(/cycle/);
  });

  it('disposing the root stops the rest of the chain', () => {
    const nodes = chain();
    nodes[0]!.dispose();
    expect(nodes[DEPTH - 1]!.state).toBe('stopped');
    expect(nodes[DEPTH - 1]!.id).toBe(nodes[0]!.id);
  });
});

describe('wide trees (100 000 children)', () => {
  const WIDTH = 100_000;

  it('a stop reaches every child in link order', () => {
    const parent = new Context();
    const order: number[] = [];
    const children: Context[] = [];
    for (let i = 0; i < WIDTH; i++) {
      const child = parent.child();
      child.onStop(() => order.push(i));
      children.push(child);
    }
    parent.stop();
    expect(order.length).toBe(WIDTH);
    expect(order.every((value, index) => value === index)).toBe(true);
    expect(children.every((c) => c.reason?.kind === 'parent')).toBe(true);
  });

  it('children disposed in any order leave the parent with none', () => {
    const parent = new Context();
    const children = Array.from({ length: WIDTH }, () => parent.child());
    for (let i = 0; i < WIDTH; i += 2) children[i]!.dispose();
    for (let i = WIDTH - 1; i >= 0; i -= 2) children[i]!.dispose();
    expect(linkedChildren(parent)).toEqual([]);
  });
});
