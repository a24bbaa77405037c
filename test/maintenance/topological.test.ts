import { describe, expect, it } from "vitest";
import { topologicalOrder } from "../../src/maintenance/topological.js";

describe("topologicalOrder", () => {
  it("puts every node after every node with an edge to it, stable, ignoring outside, self and repeated edges", () => {
    const { order, cyclic } = topologicalOrder([1, 2, 3, 4, 5], [[3, 1], [3, 1], [1, 2], [9, 4], [5, 5], [4, 2]]);
    expect(order).toEqual([3, 4, 5, 1, 2]);
    expect(cyclic).toEqual([]);
  });

  it("leaves the nodes on or behind a cycle out of the order, in the order given", () => {
    const { order, cyclic } = topologicalOrder(["a", "b", "c", "d"], [["b", "c"], ["c", "b"], ["c", "d"]]);
    expect(order).toEqual(["a"]);
    expect(cyclic).toEqual(["b", "c", "d"]);
  });
});
