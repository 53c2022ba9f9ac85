/// A bounded search for a second table the reader must consider, for the cases where no single
/// closed walk is one: with multi-valued fields, moving a total may need several of its counts
/// to move with it (a column total of 2 whose two counts are both 2 can only drop if both do),
/// which is a sum of cycles that each break a covers bound on their own.
///
/// It looks for small changes `d` (each in −2 … 2) of the network's arcs such that flow is
/// conserved at every node, every changed number stays within its mark's bounds, every covers
/// upper bound holds, and the target arc changes. Bounds propagation and depth-first search,
/// trying "no change" first; after `budget` search nodes it gives up, which only ever costs
/// utility (more hiding, or withholding), never safety: whatever it returns is checked exactly.
struct WitnessSearch {
    struct Term {
        let variable: Int
        let coefficient: Int
    }

    /// Σ coefficient·d == 0 (conservation) or Σ coefficient·d <= rhs (covers bound).
    struct Constraint {
        let terms: [Term]
        let isEquality: Bool
        let rhs: Int
    }

    let constraints: [Constraint]
    /// Per variable, the constraints it appears in.
    let constraintsOf: [[Int]]
    var budget: Int

    init(variableCount: Int, constraints: [Constraint], budget: Int) {
        self.constraints = constraints
        var of = Array(repeating: [Int](), count: variableCount)
        for (ci, c) in constraints.enumerated() {
            for t in c.terms { of[t.variable].append(ci) }
        }
        constraintsOf = of
        self.budget = budget
    }

    /// A change vector within the domains `lo ... hi` satisfying every constraint, or nil.
    mutating func solve(lo: [Int], hi: [Int]) -> [Int]? {
        var lo = lo, hi = hi
        guard budget > 0 else { return nil }
        budget -= 1
        guard propagate(&lo, &hi) else { return nil }
        var pick = -1
        for v in lo.indices where lo[v] < hi[v] && (pick < 0 || hi[v] - lo[v] < hi[pick] - lo[pick]) { pick = v }
        if pick < 0 { return lo }
        // No change first, then the smallest changes.
        let order = [0, -1, 1, -2, 2].filter { $0 >= lo[pick] && $0 <= hi[pick] }
        for value in order {
            var l = lo, h = hi
            l[pick] = value
            h[pick] = value
            if let found = solve(lo: l, hi: h) { return found }
            if budget <= 0 { return nil }
        }
        return nil
    }

    /// Interval propagation to a fixpoint; false when a domain empties or a constraint fails.
    private func propagate(_ lo: inout [Int], _ hi: inout [Int]) -> Bool {
        var queue = Array(constraints.indices)
        var queued = Array(repeating: true, count: constraints.count)
        while let ci = queue.popLast() {
            queued[ci] = false
            let c = constraints[ci]
            var minSum = 0, maxSum = 0
            for t in c.terms {
                minSum += t.coefficient > 0 ? t.coefficient * lo[t.variable] : t.coefficient * hi[t.variable]
                maxSum += t.coefficient > 0 ? t.coefficient * hi[t.variable] : t.coefficient * lo[t.variable]
            }
            if minSum > c.rhs || (c.isEquality && maxSum < c.rhs) { return false }
            for t in c.terms {
                let v = t.variable, a = t.coefficient
                let ownMin = a > 0 ? a * lo[v] : a * hi[v]
                let ownMax = a > 0 ? a * hi[v] : a * lo[v]
                var newLo = lo[v], newHi = hi[v]
                // a·d_v <= rhs − (minSum − ownMin); with equality also a·d_v >= rhs − (maxSum − ownMax).
                let upper = c.rhs - (minSum - ownMin)
                if a > 0 { newHi = min(newHi, floorDiv(upper, a)) } else { newLo = max(newLo, ceilDiv(upper, a)) }
                if c.isEquality {
                    let lower = c.rhs - (maxSum - ownMax)
                    if a > 0 { newLo = max(newLo, ceilDiv(lower, a)) } else { newHi = min(newHi, floorDiv(lower, a)) }
                }
                if newLo > newHi { return false }
                if newLo != lo[v] || newHi != hi[v] {
                    lo[v] = newLo
                    hi[v] = newHi
                    for other in constraintsOf[v] where !queued[other] {
                        queued[other] = true
                        queue.append(other)
                    }
                }
            }
        }
        return true
    }
}

private func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

private func ceilDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) == (b < 0)) ? q + 1 : q
}
