/**
 * The one topological sort (Kahn's algorithm), for the orders maintenance
 * writes and deletes in: gc deletes a blob after every garbage blob that links
 * to it; import writes a blob after every bundle blob it links to.
 */

/** A topological order of some nodes, and the nodes a cycle kept out of it. */
export interface TopologicalOrder<T> {
  /** Nodes, each after every node with an edge to it. */
  readonly order: T[];
  /** Nodes on or behind a cycle (content-addressed links cannot make one), in the order given. */
  readonly cyclic: T[];
}

/**
 * Orders `nodes` so that for every edge `[from, to]` between two of them,
 * `from` comes before `to`. Edges to or from other values, self-edges and
 * repeated edges are ignored. Stable: nodes with nothing before them keep the
 * order given, and a node freed by a node is placed in the order of that
 * node's edges.
 */
export function topologicalOrder<T>(nodes: Iterable<T>, edges: Iterable<readonly [T, T]>): TopologicalOrder<T> {
  const all = [...nodes];
  const members = new Set(all);
  const after = new Map<T, T[]>();
  const waiting = new Map<T, number>();
  const seen = new Map<T, Set<T>>();
  for (const [from, to] of edges) {
    if (from === to || !members.has(from) || !members.has(to)) continue;
    let targets = seen.get(from);
    if (!targets) seen.set(from, (targets = new Set()));
    if (targets.has(to)) continue;
    targets.add(to);
    let list = after.get(from);
    if (!list) after.set(from, (list = []));
    list.push(to);
    waiting.set(to, (waiting.get(to) ?? 0) + 1);
  }
  const order = all.filter((node) => !waiting.has(node));
  for (let i = 0; i < order.length; i++) {
    for (const next of after.get(order[i]!) ?? []) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) order.push(next);
    }
  }
  if (order.length === members.size) return { order, cyclic: [] };
  const placed = new Set(order);
  return { order, cyclic: all.filter((node) => !placed.has(node)) };
}
